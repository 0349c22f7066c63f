package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/catalog"
)

// TestStopWhileResetting (issue 11, shutdown order): the whole program with a
// fake Discord stops (SIGTERM) while a reset is in flight. The reset is
// finished and its passcode delivered while Discord is still connected, and
// the passcode is edited out when the adapter stops afterwards: it never stays
// on screen. (Before, Discord stopped first, and the passcode posted while the
// engine drained stayed.)
func TestStopWhileResetting(t *testing.T) {
	f := discordtest.New(t, discordtest.Options{})
	helpdesk := f.AddGuildChannel("1190000000000000001")
	bob := f.NewUser("bob")
	dir := t.TempDir()
	preload := filepath.Join(dir, "preload.csv")
	if err := os.WriteFile(preload, []byte("discord_user_id,upn\n"+bob.ID+",bob@contoso.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`chat: [discord]
insecure_demo_signin_with_real_chat: true
fleet: {delay: 2s}
reset: {poll_first: 10ms, poll_max: 50ms}
discord:
  api_url: %s
  application_id: "%s"
  helpdesk_channel_id: "%s"
  links_preload: %s
`, f.APIURL(), f.AppID(), helpdesk, preload))
	ctx, sigterm := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		done <- Main(ctx, []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(k string) string {
			if k == discord.EnvToken {
				return f.Token()
			}
			return ""
		})
	}()
	t.Cleanup(func() {
		sigterm()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
		}
		if t.Failed() {
			t.Logf("program log:\n%s", stderr.String())
		}
	})
	f.WaitReady(t)
	cat := catalog.MustNew("en")
	dm := f.DMChannel(bob.ID)
	find := func(what string, ok func(discordtest.Message) bool) discordtest.Message {
		t.Helper()
		var got discordtest.Message
		f.WaitFor(t, what, func() bool {
			for _, m := range f.Messages(dm) {
				if ok(m) {
					got = m
					return true
				}
			}
			return false
		})
		return got
	}
	click := func(m discordtest.Message, b *discordgo.Button) {
		t.Helper()
		if _, err := f.Click(bob, m.ID, b.CustomID); err != nil {
			t.Fatal(err)
		}
	}
	buttonEnding := func(m discordtest.Message, suffix string) *discordgo.Button {
		for _, b := range m.Buttons() {
			if strings.HasSuffix(b.Label, suffix) {
				return b
			}
		}
		return nil
	}

	f.UserSays(bob, "reset")
	list := find("the device list", func(m discordtest.Message) bool { return buttonEnding(m, "Bob's Galaxy S5") != nil })
	// Pick by typing the device's number (its button is a device-list link,
	// which a browser would follow; the typed pick then sends the sign-in link).
	f.UserSays(bob, strings.SplitN(buttonEnding(list, "Bob's Galaxy S5").Label, ".", 2)[0])
	var link string
	find("the sign-in link", func(m discordtest.Message) bool {
		for _, b := range m.Buttons() {
			if b.Style == discordgo.LinkButton && strings.Contains(b.URL, "/r/") && !strings.Contains(b.URL, "?d=") { // not a device-list link
				link = b.URL
				return true
			}
		}
		return false
	})
	i := strings.Index(link, "/r/")
	resp, err := http.PostForm(link[:i]+"/local/signin", url.Values{"token": {link[i+3:]}, "choice": {"bob@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	warn := find("the warning", func(m discordtest.Message) bool { return m.Button(cat.T("en", "button_reset")) != nil && m.Live() })
	click(warn, warn.Button(cat.T("en", "button_reset")))
	// "Resetting…" is edited to the progress 10 ms later (poll_first): any
	// version of the message counts, or a busy test can miss it.
	find("resetting", func(m discordtest.Message) bool {
		want := cat.T("en", "resetting", map[string]any{"Device": "Bob's Galaxy S5"})
		return strings.Contains(m.Content, want) || slices.ContainsFunc(m.Versions, func(v string) bool { return strings.Contains(v, want) })
	})

	sigterm() // the reset is in flight: the fleet answers after 2 s
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the program did not stop")
	}
	label := cat.T("en", "passcode_label") + ":"
	var shown, success bool
	for _, m := range f.Messages(dm) {
		if strings.Contains(m.Content, cat.T("en", "success", map[string]any{"Device": "Bob's Galaxy S5"})) {
			success = true
		}
		if len(m.Versions) > 1 && strings.Contains(m.Versions[0], label) && strings.Contains(m.Content, cat.T("en", "removed_for_safety")) {
			shown = true
		}
		if strings.Contains(m.Versions[0], label) && !m.Deleted && !strings.Contains(m.Content, cat.T("en", "removed_for_safety")) {
			t.Errorf("a passcode is still on screen after the stop: %q", m.Content)
		}
	}
	if !success || !shown {
		t.Errorf("success notice %v, passcode shown and removed %v; want both (the reset finished while draining)", success, shown)
	}
}
