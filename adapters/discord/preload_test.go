package discord

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

const (
	aliceDiscord = "112233445566778899"
	bobDiscord   = "998877665544332211"
)

var alice = resetflow.User{ID: "8f1c2a6e-0001-4c1a-9a11-a11ce0000001", UPN: "alice@contoso.example", DisplayName: "Alice Anderson"}

func TestLoadPreload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := []PreloadEntry{
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

func TestPreloadAndUnlink(t *testing.T) {
	ctx := context.Background()
	fl, err := fleet.LoadFile("", clock.NewFake(time.Now()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f := resetflow.NewMemoryLinks()
	entries := []PreloadEntry{
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
	_, err = Preload(ctx, f, fl, []PreloadEntry{{DiscordUserID: bobDiscord, UPN: "bob@contoso.example", ObjectID: "someone-else"}})
	if err == nil {
		t.Error("Preload accepted an object id that differs from the directory's")
	}
	_, err = Preload(ctx, f, fl, []PreloadEntry{{DiscordUserID: bobDiscord, UPN: "mallory@contoso.example"}})
	if err == nil || resetflow.KindOf(err) != resetflow.KindNotFound {
		t.Errorf("Preload of an unknown user = %v; want a not-found error", err)
	}
	// Without a directory the object id is required.
	if _, err := Preload(ctx, f, nil, []PreloadEntry{{DiscordUserID: bobDiscord, UPN: "bob@contoso.example"}}); err == nil {
		t.Error("Preload without directory accepted an entry without object id")
	}

	had, err := Unlink(ctx, f, "", aliceDiscord)
	if err != nil || !had {
		t.Fatalf("Unlink = %v, %v; want true", had, err)
	}
	if _, ok, _ := f.LinkedUser(ctx, Platform, aliceDiscord); ok {
		t.Error("alice still linked after Unlink")
	}
	if _, ok, _ := f.LinkedUser(ctx, Platform, bobDiscord); !ok {
		t.Error("Unlink of alice removed bob too")
	}
}

// upnOnly is a directory that knows UPNs but not object ids, as Intune's
// user_lookup: upn is.
type upnOnly struct{}

func (upnOnly) LookupUser(_ context.Context, email string) (resetflow.User, error) {
	return resetflow.User{UPN: strings.ToLower(email)}, nil
}

// TestPreloadWithADirectoryWithoutIDs: with a directory that returns no
// object id, an entry's own object id links it; an entry without one is refused.
func TestPreloadWithADirectoryWithoutIDs(t *testing.T) {
	ctx := context.Background()
	f := resetflow.NewMemoryLinks()
	n, err := Preload(ctx, f, upnOnly{}, []PreloadEntry{{DiscordUserID: aliceDiscord, UPN: "Alice@contoso.example", ObjectID: alice.ID, Name: alice.DisplayName}})
	if err != nil || n != 1 {
		t.Fatalf("Preload = %d, %v; want 1", n, err)
	}
	if u, ok, _ := f.LinkedUser(ctx, Platform, aliceDiscord); !ok || u != alice {
		t.Errorf("linked %+v, %v; want %+v", u, ok, alice)
	}
	if _, err := Preload(ctx, f, upnOnly{}, []PreloadEntry{{DiscordUserID: bobDiscord, UPN: "bob@contoso.example"}}); err == nil {
		t.Error("an entry with neither the directory's nor its own object id was linked")
	}
}
