package links

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

var _ resetflow.Links = (*File)(nil)

const (
	aliceDiscord = "112233445566778899"
	bobDiscord   = "998877665544332211"
)

var alice = resetflow.User{ID: "8f1c2a6e-0001-4c1a-9a11-a11ce0000001", UPN: "alice@contoso.example", DisplayName: "Alice Anderson"}

func TestFileLinksSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "links.json")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.LinkedUser(ctx, "discord", aliceDiscord); err != nil || ok {
		t.Fatalf("LinkedUser on an empty table = %v, %v; want not found", ok, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a read created the file: %v", err)
	}
	fixed := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f.Now = func() time.Time { return fixed }
	if err := f.SetLink(ctx, "discord", aliceDiscord, alice); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v; want 0600", st.Mode().Perm())
	}

	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	u, ok, err := g.LinkedUser(ctx, "discord", aliceDiscord)
	if err != nil || !ok || u != alice {
		t.Fatalf("after reopen LinkedUser = %+v, %v, %v; want %+v", u, ok, err, alice)
	}
	if _, ok, _ := g.LinkedUser(ctx, "slack", aliceDiscord); ok {
		t.Error("a link on discord answered for slack")
	}
	list, _ := g.List(ctx)
	if len(list) != 1 || !list[0].LinkedAt.Equal(fixed) {
		t.Errorf("List = %+v; want one link stamped %v", list, fixed)
	}

	had, err := g.RemoveLink(ctx, "discord", aliceDiscord)
	if err != nil || !had {
		t.Fatalf("RemoveLink = %v, %v; want true", had, err)
	}
	had, err = f.RemoveLink(ctx, "discord", aliceDiscord)
	if err != nil || had {
		t.Fatalf("second RemoveLink = %v, %v; want false", had, err)
	}
	if _, ok, _ := f.LinkedUser(ctx, "discord", aliceDiscord); ok {
		t.Error("link still there after removal (seen through the other handle)")
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".links.json.*.tmp"))
	if len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestFileRefusesDamagedTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "links.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("Open of a damaged file succeeded; it would be overwritten with an empty table")
	}
}

func TestFileConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "links.json")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(path) // a second handle, as an administrator's command would have
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const n = 40
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := a
			if i%2 == 1 {
				h = b
			}
			id := fmt.Sprintf("1000000000000000%02d", i)
			u := resetflow.User{ID: fmt.Sprintf("oid-%d", i), UPN: fmt.Sprintf("u%d@contoso.example", i)}
			if err := h.SetLink(ctx, "discord", id, u); err != nil {
				t.Error(err)
			}
			if _, ok, err := h.LinkedUser(ctx, "discord", id); err != nil || !ok {
				t.Errorf("LinkedUser(%s) = %v, %v right after SetLink", id, ok, err)
			}
		}()
	}
	wg.Wait()
	list, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d links after %d concurrent SetLink calls on two handles; want %d (a write was lost)", len(list), n, n)
	}
	raw, _ := os.ReadFile(path)
	var doc fileFormat
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Links) != n {
		t.Fatalf("file holds %d links (%v); want %d", len(doc.Links), err, n)
	}
}

func TestLoadPreload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := []Entry{
		{DiscordUserID: aliceDiscord, UPN: "alice@contoso.example", ObjectID: alice.ID, Name: "Alice Anderson"},
		{DiscordUserID: bobDiscord, UPN: "bob@contoso.example"},
	}
	for _, tc := range []struct {
		name, file, body string
	}{
		{"yaml list", "p.yaml", "- {discord_user_id: \"" + aliceDiscord + "\", upn: alice@contoso.example, object_id: " + alice.ID + ", name: Alice Anderson}\n- {discord_user_id: \"" + bobDiscord + "\", upn: bob@contoso.example}\n"},
		{"yaml map", "p.yml", "links:\n  - discord_user_id: \"" + aliceDiscord + "\"\n    upn: alice@contoso.example\n    object_id: " + alice.ID + "\n    name: Alice Anderson\n  - discord_user_id: \"" + bobDiscord + "\"\n    upn: bob@contoso.example\n"},
		{"csv", "p.csv", "# exported from HR\ndiscord_user_id,upn,object_id,name\n" + aliceDiscord + ",alice@contoso.example," + alice.ID + ",Alice Anderson\n" + bobDiscord + ", bob@contoso.example,,\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadPreload(write(tc.file, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("LoadPreload = %+v; want %+v", got, want)
			}
		})
	}
	for _, tc := range []struct {
		name, file, body, wantErr string
	}{
		{"not a snowflake", "bad.yaml", "- {discord_user_id: alice, upn: alice@contoso.example}\n", "entry 1"},
		{"no upn", "bad2.yaml", "- {discord_user_id: \"" + aliceDiscord + "\", upn: alice}\n", "upn"},
		{"unknown key", "bad3.yaml", "- {discord_user_id: \"" + aliceDiscord + "\", mail: alice@contoso.example}\n", "mail"},
		{"twice", "bad4.csv", "discord_user_id,upn\n" + aliceDiscord + ",alice@contoso.example\n" + aliceDiscord + ",bob@contoso.example\n", "twice"},
		{"no header", "bad5.csv", aliceDiscord + ",alice@contoso.example\n", "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPreload(write(tc.file, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadPreload error = %v; want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestPreloadAndRemove(t *testing.T) {
	ctx := context.Background()
	fl, err := fleet.LoadFile("", clock.NewFake(time.Now()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(filepath.Join(t.TempDir(), "links.json"))
	if err != nil {
		t.Fatal(err)
	}
	entries := []Entry{
		{DiscordUserID: aliceDiscord, UPN: "ALICE@contoso.example"},
		{DiscordUserID: bobDiscord, UPN: "bob@contoso.example", ObjectID: "8f1c2a6e-0002-4c1a-9a11-b0b000000002"},
	}
	n, err := Preload(ctx, f, fl, entries)
	if err != nil || n != 2 {
		t.Fatalf("Preload = %d, %v; want 2", n, err)
	}
	u, ok, _ := f.LinkedUser(ctx, Platform, aliceDiscord)
	if !ok || u != alice {
		t.Errorf("preloaded alice = %+v, %v; want the directory's %+v", u, ok, alice)
	}

	// A wrong object id is refused, and so is an unknown user.
	_, err = Preload(ctx, f, fl, []Entry{{DiscordUserID: bobDiscord, UPN: "bob@contoso.example", ObjectID: "someone-else"}})
	if err == nil {
		t.Error("Preload accepted an object id that differs from the directory's")
	}
	_, err = Preload(ctx, f, fl, []Entry{{DiscordUserID: bobDiscord, UPN: "mallory@contoso.example"}})
	if err == nil || resetflow.KindOf(err) != resetflow.KindNotFound {
		t.Errorf("Preload of an unknown user = %v; want a not-found error", err)
	}
	// Without a directory the object id is required.
	if _, err := Preload(ctx, f, nil, []Entry{{DiscordUserID: bobDiscord, UPN: "bob@contoso.example"}}); err == nil {
		t.Error("Preload without directory accepted an entry without object id")
	}

	had, err := Remove(ctx, f, "", aliceDiscord)
	if err != nil || !had {
		t.Fatalf("Remove = %v, %v; want true", had, err)
	}
	if _, ok, _ := f.LinkedUser(ctx, Platform, aliceDiscord); ok {
		t.Error("alice still linked after Remove")
	}
	if _, ok, _ := f.LinkedUser(ctx, Platform, bobDiscord); !ok {
		t.Error("Remove of alice removed bob too")
	}
}
