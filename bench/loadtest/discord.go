package loadtest

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	discordadapter "github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
)

// discordDriver drives employees on the fake Discord. Each employee is a
// Discord user linked ahead of time to their directory user (the bot's
// links_preload, as an administrator would), so a reset is the four actions
// of a linked person: DM "reset", the device's link button (the browser),
// the demo sign-in, the "Reset passcode" button (an interaction the bot
// answers with a REST callback, within Discord's 3 s).
type discordDriver struct {
	fake   *discordtest.Server
	routes *boxes[discordtest.Message]
	users  []employee

	mu           sync.Mutex
	interactions []string // ids of the interactions sent, for the callback times
}

func newDiscordDriver() *discordDriver {
	d := &discordDriver{routes: &boxes[discordtest.Message]{}}
	d.fake = discordtest.Start(discordtest.Options{
		// Long enough that a late callback is still taken and timed (and
		// counted late) rather than refused, so the reset goes on.
		InteractionAckTimeout: time.Minute,
		OnMessage:             func(m discordtest.Message) { d.routes.push(m.ChannelID, m) },
	})
	return d
}

// discordUserOf is employee e's Discord user (a snowflake of their own).
func discordUserOf(e employee) discordtest.User {
	return discordtest.User{ID: fmt.Sprintf("1%018d", e.n), Username: fmt.Sprintf("employee%d", e.n)}
}

func (d *discordDriver) addEmployee(e employee) {
	d.routes.get(d.fake.DMChannel(discordUserOf(e).ID))
	d.users = append(d.users, e)
}

// writeLinks writes every employee's link as an administrator's preload CSV.
func (d *discordDriver) writeLinks(dir string) (string, error) {
	path := filepath.Join(dir, "links.csv")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"discord_user_id", "upn", "object_id", "name"})
	for _, e := range d.users {
		_ = w.Write([]string{discordUserOf(e).ID, e.email, objectIDOf(e), fmt.Sprintf("Employee %d", e.n)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// floorEnv gives the floor the same links, which it reads once at start.
func (d *discordDriver) floorEnv(dir string) ([]string, error) {
	path, err := d.writeLinks(dir)
	if err != nil {
		return nil, err
	}
	return []string{"FLOOR_PLATFORM=discord", "FLOOR_DISCORD_API_URL=" + d.fake.APIURL(), "FLOOR_DISCORD_TOKEN=" + d.fake.Token(), "FLOOR_DISCORD_LINKS=" + path}, nil
}

// config preloads every employee's link. With intune's default user_lookup
// (upn) the preload drops the object_id the file gives and refuses the
// entry (adapters/discord/preload.go), so the bot looks the employees up in
// the directory (one Graph user read each, at start, outside the measure).
func (d *discordDriver) config(dir string) (string, string, []string, error) {
	path, err := d.writeLinks(dir)
	if err != nil {
		return "", "", nil, err
	}
	cfg := fmt.Sprintf("chat: [discord]\ndiscord: {api_url: %q, application_id: %q, links_preload: %q}", d.fake.APIURL(), d.fake.AppID(), path)
	return cfg, ", user_lookup: directory", []string{discordadapter.EnvToken + "=" + d.fake.Token()}, nil
}

func (d *discordDriver) connected(ctx context.Context, ps *platformSession) error {
	for !d.fake.Ready() {
		select {
		case <-d.fake.Changed():
		case <-ps.proc.done:
			return fmt.Errorf("passcodebot exited at start: %v", ps.proc.err)
		case <-ctx.Done():
			return fmt.Errorf("passcodebot did not connect to the fake Discord gateway: %w", ctx.Err())
		}
	}
	return nil
}

func (d *discordDriver) close() { d.fake.Close() }

func (d *discordDriver) calls() map[string]int { return d.fake.RouteCounts() }

// discordText is all a message shows in words: content and embeds.
func discordText(m discordtest.Message) string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, e := range m.Embeds {
		b.WriteString("\n" + e.Title + "\n" + e.Description)
		for _, f := range e.Fields {
			b.WriteString("\n" + f.Name + "\n" + f.Value)
		}
	}
	return b.String()
}

func discordSays(s string) func(discordtest.Message) bool {
	return func(m discordtest.Message) bool { return strings.Contains(discordText(m), s) }
}

func (d *discordDriver) fullReset(ctx context.Context, o *Options, ps *platformSession, e employee, sm *samples) error {
	u := discordUserOf(e)
	box := d.routes.get(d.fake.DMChannel(u.ID))
	deviceButton := "1. " + e.device

	t0 := time.Now()
	d.fake.UserSays(u, "reset")
	list, err := box.expect(ctx, o.Timeout, "the device list", func(m discordtest.Message) bool { return m.Button(deviceButton) != nil }, discordText)
	if err != nil {
		return err
	}
	sm.add(actReset, list.at.Sub(t0))
	btn := list.v.Button(deviceButton)
	if btn.Style != discordgo.LinkButton || btn.URL == "" {
		return fmt.Errorf("the device button %q is not a link: %+v", deviceButton, btn)
	}

	t0 = time.Now()
	token, err := pickInBrowser(btn.URL)
	if err != nil {
		return err
	}
	sm.add(actPick, time.Since(t0))
	origin, err := originOf(btn.URL)
	if err != nil {
		return err
	}
	t0, err = localSignIn(origin, token, e.email)
	if err != nil {
		return err
	}
	resetLabel := en.cat.T("en", "button_reset")
	warning, err := box.expect(ctx, o.Timeout, "the warning", func(m discordtest.Message) bool {
		b := m.Button(resetLabel)
		return b != nil && !b.Disabled
	}, discordText)
	if err != nil {
		return err
	}
	sm.add(actSignIn, warning.at.Sub(t0))

	t0 = time.Now()
	iid, err := d.fake.Click(u, warning.v.ID, warning.v.Button(resetLabel).CustomID)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.interactions = append(d.interactions, iid)
	d.mu.Unlock()
	resetting, err := box.expect(ctx, o.Timeout, "resetting", discordSays(en.say("resetting", e)), discordText)
	if err != nil {
		return err
	}
	sm.add(actConfirm, resetting.at.Sub(t0))
	pass, err := box.expect(ctx, o.Timeout, "the passcode", discordSays("**"+en.cat.T("en", "passcode_label")+":** `"), discordText)
	if err != nil {
		return err
	}
	sm.add(actResult, pass.at.Sub(t0))
	_, err = box.expect(ctx, o.Timeout, "the success notice", discordSays(en.say("success", e)), discordText)
	return err
}

// acks are the interactions' callback times as the fake saw them, waiting up
// to ackWait for callbacks still due.
func (d *discordDriver) acks(ctx context.Context) Acks {
	d.mu.Lock()
	ids := append([]string(nil), d.interactions...)
	d.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, ackWait)
	defer cancel()
	for {
		ch := d.fake.Changed()
		pending := 0
		for _, id := range ids {
			if len(d.fake.Interaction(id).Callbacks) == 0 {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-wctx.Done():
		}
		break
	}
	a := Acks{Sent: len(ids)}
	var ds []time.Duration
	for _, id := range ids {
		in := d.fake.Interaction(id)
		if len(in.Callbacks) == 0 {
			a.Missing++
			continue
		}
		ds = append(ds, in.AckDelay)
		if in.AckDelay > AckLate {
			a.Late++
		}
	}
	a.Latencies = Summarize(ds)
	return a
}
