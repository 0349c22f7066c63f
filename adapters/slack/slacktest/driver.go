package slacktest

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
)

// Driver is a person at the fake Slack, for the bot's tests: it delivers
// envelopes and waits for their acks, waits for the bot's messages, presses
// buttons, and follows a sign-in link as a browser does. Any failure stops the
// test. The adapter's tests and the whole-program tests drive the bot with it.
type Driver struct {
	T    testing.TB
	Ctx  context.Context // bounds every wait
	FS   *Server
	Base string // the bot's own HTTP server (sign-in links, HTTP mode)
}

// Deliver sends an envelope over the socket and waits for its ack.
func (d *Driver) Deliver(env Envelope) Ack {
	d.T.Helper()
	if err := d.FS.Deliver(env); err != nil {
		d.T.Fatal(err)
	}
	ack, err := d.FS.WaitAck(d.Ctx, env.EnvelopeID)
	if err != nil {
		d.T.Fatalf("envelope %s not acked: %v", env.EnvelopeID, err)
	}
	return ack
}

// DeliverHTTP sends an envelope to the bot's HTTP endpoints, signed at ts.
func (d *Driver) DeliverHTTP(env Envelope, signingSecret string, ts time.Time) (*http.Response, string) {
	d.T.Helper()
	req, err := env.HTTPRequest(d.Base, signingSecret, ts)
	if err != nil {
		d.T.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.T.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// WaitMessage waits for a message in channel that matches; what names it in
// the failure, with the channel's messages.
func (d *Driver) WaitMessage(channel, what string, match func(Message) bool) Message {
	d.T.Helper()
	m, err := d.FS.WaitMessage(d.Ctx, channel, match)
	if err != nil {
		d.T.Fatalf("no message %s in %s: %v\nmessages: %s", what, channel, err, Dump(d.FS.Messages(channel)))
	}
	return m
}

// Click presses an element of a message as user and waits for the ack.
func (d *Driver) Click(user string, m Message, actionID, value string) Envelope {
	d.T.Helper()
	env, err := d.FS.Click(user, m.Channel, m.TS, actionID, value)
	if err != nil {
		d.T.Fatal(err)
	}
	d.Deliver(env)
	return env
}

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// SignIn follows a sign-in link as a browser would: the landing page, its
// button, and the demo sign-in form (reauth: local), choosing upn.
func (d *Driver) SignIn(link, upn string) {
	d.T.Helper()
	u, err := url.Parse(link)
	if err != nil {
		d.T.Fatal(err)
	}
	token := strings.TrimPrefix(u.Path, "/r/")
	res, err := http.Get(link)
	if err != nil {
		d.T.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !formAction.Match(page) {
		d.T.Fatalf("GET %s: %s\n%s", link, res.Status, page)
	}
	res, err = http.PostForm(link, url.Values{})
	if err != nil {
		d.T.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "/local/signin") {
		d.T.Fatalf("POST %s: %s\n%s", link, res.Status, page)
	}
	res, err = http.PostForm(u.Scheme+"://"+u.Host+"/local/signin", url.Values{"token": {token}, "choice": {upn}})
	if err != nil {
		d.T.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		d.T.Fatalf("POST /local/signin: %s\n%s", res.Status, page)
	}
}

// Dump lists messages for a failure: ts, deleted, updates and texts.
func Dump(ms []Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  %s deleted=%v updates=%d: %q", m.TS, m.Deleted, m.Updates, m.Texts())
	}
	return b.String()
}

// Method matches a Web API call by method.
func Method(m string) func(Call) bool {
	return func(c Call) bool { return c.Method == m }
}

// HasAction matches a message with an element of that action id.
func HasAction(id string) func(Message) bool {
	return func(m Message) bool {
		for _, a := range m.Actions() {
			if a.ActionID == id {
				return true
			}
		}
		return false
	}
}

// HasText matches a message whose texts hold s.
func HasText(s string) func(Message) bool {
	return func(m Message) bool { return strings.Contains(m.Texts(), s) }
}

// HasBlock matches a message with a block of that block id.
func HasBlock(id string) func(Message) bool {
	return func(m Message) bool { return strings.Contains(string(m.Blocks), `"block_id":"`+id+`"`) }
}

// Action is the message's element of that action id, or the zero Action.
func (m Message) Action(id string) Action {
	for _, a := range m.Actions() {
		if a.ActionID == id {
			return a
		}
	}
	return Action{}
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// PasscodeOf reads the passcode out of the code span of a message's texts.
func PasscodeOf(t testing.TB, m Message) string {
	t.Helper()
	got := codeSpan.FindStringSubmatch(m.Texts())
	if got == nil {
		t.Fatalf("no code span in %q", m.Texts())
	}
	return got[1]
}
