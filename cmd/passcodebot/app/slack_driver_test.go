package app_test

// The conversation driver of the whole-program Slack tests: a copy of the
// adapters/slack harness's helpers, kept here while the wiring lives in
// cmd/passcodebot/app (whole-program tests must live with the wiring). It joins the
// test kit when the wiring moves to cmd/passcodebot.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
)

// env is the running program as the driver sees it: the fake Slack it talks to
// and the bot's own HTTP server.
type env struct {
	t    testing.TB
	ctx  context.Context
	fs   *slacktest.Server
	clk  *clock.Fake // nil: the program runs on the real clock
	cat  *catalog.Catalog
	base string
}

const (
	alice    = "U0ALICE"
	bob      = "U0BOB"
	helpdesk = "C0HELP"
	secret   = "8f14e45fceea167a5a36dedd4bea2543" // the signing secret of the tests
)

// waitTimeout bounds every wait: a failing test stops instead of hanging. No
// test waits for time to pass; time moves only with the fake clock.
const waitTimeout = 20 * time.Second

var worksUntil = regexp.MustCompile(`This link works until (\d\d:\d\d \w+)`)

// resetUntilWarning drives alice from "reset" to the warning with the
// confirm button: it picks her Pixel (a temporary passcode) and signs in.
// between runs after the device pick, before the sign-in (a reconnect, say).
func (e *env) resetUntilWarning(between func()) slacktest.Message {
	e.t.Helper()
	im := slacktest.IM(alice)
	e.deliver(e.fs.DM(alice, "reset"))
	list := e.waitMessage(im, "device list", hasAction("pcb_choice_1"))
	if got := len(list.Actions()); got != 4 { // three devices and Cancel
		e.t.Fatalf("device list has %d elements, want 4: %+v", got, list.Actions())
	}
	if a := action(list, "pcb_choice_1"); a.Text != "Alice's Pixel 8" {
		e.t.Fatalf("second device button = %q", a.Text)
	}
	e.click(alice, list, "pcb_choice_1", "")
	// The clicked message loses its device buttons, names the choice and
	// holds the sign-in link under it (the click is answered in place).
	linkMsg := e.waitMessage(im, "device list answered with the sign-in link", func(m slacktest.Message) bool {
		return m.TS == list.TS && strings.Contains(m.Texts(), "You chose: Alice's Pixel 8") && hasAction("pcb_link")(m) && !hasAction("pcb_choice_1")(m)
	})
	if between != nil {
		between()
	}
	link := action(linkMsg, "pcb_link")
	if !strings.HasPrefix(link.URL, e.base+"/r/") {
		e.t.Fatalf("link %q does not point at the bot", link.URL)
	}
	// The link's own line says the same time as the engine's sentence.
	until := worksUntil.FindStringSubmatch(linkMsg.Texts())
	if until == nil || !strings.Contains(linkMsg.Texts(), "Works until "+until[1]) {
		e.t.Errorf("link message does not say until when it works: %q", linkMsg.Texts())
	}
	if e.clk != nil && until != nil && until[1] != "09:05 UTC" {
		e.t.Errorf("link works until %s, want 09:05 UTC (five minutes)", until[1])
	}
	if strings.Contains(linkMsg.Texts(), link.URL) || strings.Contains(linkMsg.Text, link.URL) {
		e.t.Errorf("a text of the message carries the link: %q / %q", linkMsg.Texts(), linkMsg.Text)
	}
	e.signIn(link.URL, "alice@contoso.example")
	warning := e.waitMessage(im, "warning", hasText("Warning: after the passcode"))
	confirm := action(warning, "pcb_button_0")
	if confirm.Style != "danger" || confirm.Confirm == nil || confirm.Confirm.Style != "danger" || confirm.Confirm.Title != "Reset passcode?" {
		e.t.Fatalf("reset button without a danger confirm dialog: %+v %+v", confirm, confirm.Confirm)
	}
	if c := action(warning, "pcb_button_1"); c.Text != "Cancel" {
		e.t.Fatalf("second button = %+v, want Cancel", c)
	}
	return warning
}

// confirm presses "Reset passcode" and waits for the warning to lose its buttons.
func (e *env) confirm(warning slacktest.Message) {
	e.t.Helper()
	e.click(alice, warning, "pcb_button_0", "")
	e.waitMessage(warning.Channel, "warning without buttons", func(m slacktest.Message) bool {
		return m.TS == warning.TS && len(m.Actions()) == 0 && strings.Contains(m.Texts(), "You chose: Reset passcode")
	})
}

func method(m string) func(slacktest.Call) bool {
	return func(c slacktest.Call) bool { return c.Method == m }
}

// deliver sends an envelope over the socket and waits for its ack.
func (e *env) deliver(env slacktest.Envelope) slacktest.Ack {
	e.t.Helper()
	if err := e.fs.Deliver(env); err != nil {
		e.t.Fatal(err)
	}
	ack, err := e.fs.WaitAck(e.ctx, env.EnvelopeID)
	if err != nil {
		e.t.Fatalf("envelope %s not acked: %v", env.EnvelopeID, err)
	}
	return ack
}

// deliverHTTP sends an envelope to the bot's HTTP endpoints, signed at ts.
func (e *env) deliverHTTP(env slacktest.Envelope, signingSecret string, ts time.Time) (*http.Response, string) {
	e.t.Helper()
	req, err := env.HTTPRequest(e.base, signingSecret, ts)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// waitMessage waits for a message in channel that matches.
func (e *env) waitMessage(channel, what string, match func(slacktest.Message) bool) slacktest.Message {
	e.t.Helper()
	m, err := e.fs.WaitMessage(e.ctx, channel, match)
	if err != nil {
		e.t.Fatalf("no message %s in %s: %v\nmessages: %s", what, channel, err, dump(e.fs.Messages(channel)))
	}
	return m
}

func dump(ms []slacktest.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  %s deleted=%v updates=%d: %q", m.TS, m.Deleted, m.Updates, m.Texts())
	}
	return b.String()
}

func hasAction(id string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool {
		for _, a := range m.Actions() {
			if a.ActionID == id {
				return true
			}
		}
		return false
	}
}

func hasText(s string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool { return strings.Contains(m.Texts(), s) }
}

func action(m slacktest.Message, id string) slacktest.Action {
	for _, a := range m.Actions() {
		if a.ActionID == id {
			return a
		}
	}
	return slacktest.Action{}
}

// click presses an element of a message and waits for the ack.
func (e *env) click(user string, m slacktest.Message, actionID, value string) slacktest.Envelope {
	e.t.Helper()
	env, err := e.fs.Click(user, m.Channel, m.TS, actionID, value)
	if err != nil {
		e.t.Fatal(err)
	}
	e.deliver(env)
	return env
}

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// signIn follows a sign-in link as a browser would: the landing page, its
// button, and the demo sign-in form, choosing upn.
func (e *env) signIn(link, upn string) {
	e.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	token := strings.TrimPrefix(u.Path, "/r/")
	res, err := http.Get(link)
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !formAction.Match(page) {
		e.t.Fatalf("GET %s: %s\n%s", link, res.Status, page)
	}
	res, err = http.PostForm(link, url.Values{})
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "/local/signin") {
		e.t.Fatalf("POST %s: %s\n%s", link, res.Status, page)
	}
	res, err = http.PostForm(u.Scheme+"://"+u.Host+"/local/signin", url.Values{"token": {token}, "choice": {upn}})
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("POST /local/signin: %s\n%s", res.Status, page)
	}
}

func hasBlock(id string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool { return strings.Contains(string(m.Blocks), `"block_id":"`+id+`"`) }
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// passcodeOf reads the passcode out of the secret block of a message.
func passcodeOf(t testing.TB, m slacktest.Message) string {
	t.Helper()
	got := codeSpan.FindStringSubmatch(m.Texts())
	if got == nil {
		t.Fatalf("no code span in %q", m.Texts())
	}
	return got[1]
}
