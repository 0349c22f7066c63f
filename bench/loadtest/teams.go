package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	teamsadapter "github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
)

// teamsDriver drives employees on the fake Bot Framework: each is a Teams
// user of the company's tenant whose Entra object id is their directory
// user's. The Bot Framework POSTs every activity to the bot's endpoint and
// waits for the HTTP answer; the bot answers through the fake Connector. A
// reset is the four actions of a person: "reset", the device's link
// (Action.OpenUrl: the browser), the demo sign-in, "Reset passcode"
// (Action.Submit, an activity).
type teamsDriver struct {
	fake     *teamstest.Server
	routes   *boxes[teamstest.Message]
	endpoint string
	token    string // one Bot Framework token for every activity (valid an hour)

	mu       sync.Mutex
	answered []time.Duration // activity POST -> its HTTP response, 2xx only
	sent     int
}

func newTeamsDriver() *teamsDriver {
	d := &teamsDriver{routes: &boxes[teamstest.Message]{}}
	f, err := teamstest.Start(teamstest.Options{OnMessage: func(m teamstest.Message) { d.routes.push(m.ConversationID, m) }})
	if err != nil {
		panic(err) // an RSA key could not be made
	}
	d.fake = f
	return d
}

func teamsUserOf(e employee) teamstest.User {
	return teamstest.User{ID: fmt.Sprintf("29:1emp%07d", e.n), AADObjectID: objectIDOf(e), Name: fmt.Sprintf("Employee %d", e.n), UPN: e.email}
}

func (d *teamsDriver) addEmployee(e employee) {
	u := d.fake.AddUser(teamsUserOf(e))
	d.routes.get(d.fake.PersonalChat(u))
}

func (d *teamsDriver) floorEnv(string) ([]string, error) {
	return []string{"FLOOR_PLATFORM=teams", "FLOOR_TEAMS_APP_ID=" + d.fake.AppID(), "FLOOR_TEAMS_APP_PASSWORD=" + d.fake.AppPassword(),
		"FLOOR_TEAMS_METADATA_URL=" + d.fake.MetadataURL(), "FLOOR_TEAMS_TOKEN_URL=" + d.fake.TokenURL()}, nil
}

func (d *teamsDriver) config(string) (string, string, []string, error) {
	cfg := fmt.Sprintf("chat: [teams]\nteams: {app_id: %q, tenant_id: %q, service_url: %q, openid_metadata_url: %q, token_url: %q}",
		d.fake.AppID(), d.fake.TenantID(), d.fake.ServiceURL(), d.fake.MetadataURL(), d.fake.TokenURL())
	return cfg, "", []string{teamsadapter.PasswordEnv + "=" + d.fake.AppPassword()}, nil
}

func (d *teamsDriver) connected(ctx context.Context, ps *platformSession) error {
	d.endpoint = "http://" + ps.listen + teamsadapter.DefaultPath
	d.fake.SetEndpoint(d.endpoint)
	d.token = d.fake.Token(d.fake.ServiceURL(), teamstest.Sign{})
	return nil
}

func (d *teamsDriver) close() { d.fake.Close() }

func (d *teamsDriver) calls() map[string]int { return d.fake.RouteCounts() }

// post delivers an activity as the Bot Framework does, and records the time
// to the bot's HTTP answer.
func (d *teamsDriver) post(ctx context.Context, act map[string]any) error {
	raw, err := json.Marshal(act)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.endpoint, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+d.token)
	t0 := time.Now()
	resp, err := httpClient.Do(req)
	d.mu.Lock()
	d.sent++
	d.mu.Unlock()
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(t0)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the bot answered the activity with %s", resp.Status)
	}
	d.mu.Lock()
	d.answered = append(d.answered, took)
	d.mu.Unlock()
	return nil
}

// click presses a card's Action.Submit as Teams does: a message activity in
// the card's conversation whose value is the action's data.
func (d *teamsDriver) click(ctx context.Context, u teamstest.User, m teamstest.Message, title string) error {
	act := m.Action(title)
	if act == nil || act["type"] != "Action.Submit" {
		return fmt.Errorf("the card has no button %q (it has %q)", title, m.Actions())
	}
	data := map[string]any{}
	if dm, ok := act["data"].(map[string]any); ok {
		for k, v := range dm {
			data[k] = v
		}
	}
	a := d.fake.Activity(u, m.ConversationID)
	a["replyToId"], a["value"] = m.ID, data
	return d.post(ctx, a)
}

func teamsText(m teamstest.Message) string { return m.Texts() }

func teamsSays(s string) func(teamstest.Message) bool {
	return func(m teamstest.Message) bool { return !m.Deleted && strings.Contains(m.Texts(), s) }
}

func (d *teamsDriver) fullReset(ctx context.Context, o *Options, ps *platformSession, e employee, sm *samples) error {
	u := teamsUserOf(e)
	box := d.routes.get(d.fake.PersonalChat(u))
	deviceLink := "1. " + e.device

	t0 := time.Now()
	say := d.fake.Activity(u, "")
	say["text"] = "reset"
	if err := d.post(ctx, say); err != nil {
		return err
	}
	list, err := box.expect(ctx, o.Timeout, "the device list", func(m teamstest.Message) bool { return m.OpenURL(deviceLink) != "" }, teamsText)
	if err != nil {
		return err
	}
	sm.add(actReset, list.at.Sub(t0))
	link := list.v.OpenURL(deviceLink)

	t0 = time.Now()
	token, err := pickInBrowser(link)
	if err != nil {
		return err
	}
	sm.add(actPick, time.Since(t0))
	origin, err := originOf(link)
	if err != nil {
		return err
	}
	t0, err = localSignIn(origin, token, e.email)
	if err != nil {
		return err
	}
	resetLabel := en.cat.T("en", "button_reset")
	warning, err := box.expect(ctx, o.Timeout, "the warning", func(m teamstest.Message) bool { return !m.Deleted && m.Action(resetLabel) != nil }, teamsText)
	if err != nil {
		return err
	}
	sm.add(actSignIn, warning.at.Sub(t0))

	t0 = time.Now()
	if err := d.click(ctx, u, warning.v, resetLabel); err != nil {
		return err
	}
	resetting, err := box.expect(ctx, o.Timeout, "resetting", teamsSays(en.say("resetting", e)), teamsText)
	if err != nil {
		return err
	}
	sm.add(actConfirm, resetting.at.Sub(t0))
	pass, err := box.expect(ctx, o.Timeout, "the passcode", teamsSays(en.cat.T("en", "passcode_label")), teamsText)
	if err != nil {
		return err
	}
	sm.add(actResult, pass.at.Sub(t0))
	_, err = box.expect(ctx, o.Timeout, "the success notice", teamsSays(en.say("success", e)), teamsText)
	return err
}

// acks are the bot's HTTP answers to the activities: every POST is answered
// before it returns, so there is nothing to wait for.
func (d *teamsDriver) acks(context.Context) Acks {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := Acks{Sent: d.sent, Missing: d.sent - len(d.answered)}
	for _, t := range d.answered {
		if t > AckLate {
			a.Late++
		}
	}
	a.Latencies = Summarize(append([]time.Duration(nil), d.answered...))
	return a
}
