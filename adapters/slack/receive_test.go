package slack_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestAckComesBeforeTheWork(t *testing.T) {
	r := newRecorder()
	r.block = make(chan struct{})
	e := start(t, options{handler: r})
	// alice's handler blocks; her envelope is acked all the same, and bob is not held up.
	ack := e.Deliver(e.fs.DM(alice, "reset"))
	if in := r.next(t); in.From.UserID != alice {
		t.Fatalf("first input from %s", in.From.UserID)
	}
	e.Deliver(e.fs.DM(bob, "reset"))
	if in := r.next(t); in.From.UserID != bob {
		t.Fatalf("second input from %s", in.From.UserID)
	}
	e.Deliver(e.fs.DM(alice, "help")) // queued behind her first, acked at once
	close(r.block)
	if in := r.next(t); in.From.UserID != alice || in.Text != "help" {
		t.Fatalf("third input = %+v", in)
	}
	t.Logf("ack latency of the first envelope: %v", ack.Latency)
}

func TestInputCarriesIdentityAndLocale(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	e.Deliver(e.fs.DM(bob, "パスコードをリセット &lt;now&gt;"))
	in := r.next(t)
	want := "bob@contoso.example" // @corp.example rewritten
	if in.Email != want || in.Locale != "ja-JP" || in.From.Platform != "slack" || in.From.UserID != bob || in.From.Channel != slacktest.IM(bob) {
		t.Fatalf("input = %+v", in)
	}
	if in.Text != "パスコードをリセット <now>" {
		t.Errorf("text = %q: Slack's escaping not undone", in.Text)
	}
}

func TestUsersInfoIsCached(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r, configure: func(c *slackadapter.Config) { c.UserCacheTTL = time.Minute }})
	for range 3 {
		e.Deliver(e.fs.DM(alice, "hello"))
		r.next(t)
	}
	if n := len(e.fs.CallsWhere(slacktest.Method("users.info"))); n != 1 {
		t.Errorf("users.info calls = %d, want 1", n)
	}
	e.clk.Advance(time.Minute)
	e.Deliver(e.fs.DM(alice, "hello"))
	r.next(t)
	if n := len(e.fs.CallsWhere(slacktest.Method("users.info"))); n != 2 {
		t.Errorf("users.info calls after the TTL = %d, want 2", n)
	}
}

func TestRefusedUsersNeverReachTheEngine(t *testing.T) {
	for _, tc := range []struct {
		name string
		user slacktest.User
		want string
	}{
		{"bot", slacktest.User{ID: "U0OTHERBOT", Name: "otherbot", Email: "bot@contoso.example", IsBot: true}, "This bot doesn't answer messages from other bots or apps."},
		{"no email", slacktest.User{ID: "U0NOMAIL", Name: "nomail"}, "your chat account has no company email address"},
		{"other workspace", slacktest.User{ID: "U0EXT", Name: "ext", Email: "eve@partner.example", TeamID: "T0PARTNER"}, "members of this company's workspace"},
		{"Slack Connect stranger", slacktest.User{ID: "U0STRANGER", Name: "stranger", Email: "mallory@contoso.example", IsStranger: true}, "members of this company's workspace"},
		{"japanese, no email", slacktest.User{ID: "U0NOMAILJA", Name: "nomailja", Locale: "ja-JP"}, "会社のメール アドレスが登録されていない"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			e := start(t, options{handler: r})
			e.fs.AddUser(tc.user)
			im := slacktest.IM(tc.user.ID)
			e.Deliver(e.fs.DM(tc.user.ID, "reset"))
			e.WaitMessage(im, "refusal", slacktest.HasText(tc.want))
			// A click or a command from them is refused too.
			e.Deliver(e.fs.Command(tc.user.ID, im, ""))
			if _, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool { return c.Method == "response_url" || tc.user.IsBot }); err != nil {
				t.Fatal(err)
			}
			e.Deliver(e.fs.DM(alice, "barrier"))
			if in := r.next(t); in.From.UserID != alice {
				t.Fatalf("input from %s reached the engine", in.From.UserID)
			}
			for _, in := range r.Inputs() {
				if in.From.UserID == tc.user.ID {
					t.Fatalf("input from %s reached the engine", tc.user.ID)
				}
			}
			if tc.user.IsBot {
				e.Deliver(e.fs.DM(tc.user.ID, "reset again"))
				e.Deliver(e.fs.DM(alice, "barrier 2"))
				r.next(t)
				if n := e.countMessages(im, tc.want); n != 1 {
					t.Errorf("the bot was answered %d times; twice makes bots talk in circles", n)
				}
			}
		})
	}
}

func TestIgnoredMessages(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	im := slacktest.IM(alice)
	for _, ev := range []map[string]any{
		{"type": "message", "subtype": "message_changed", "channel": im, "channel_type": "im", "message": map[string]any{"user": alice, "text": "reset"}},
		{"type": "message", "subtype": "bot_message", "bot_id": "B0OTHER", "channel": im, "channel_type": "im", "text": "reset"},
		{"type": "message", "user": e.fs.BotUserID, "bot_id": e.fs.BotID, "channel": im, "channel_type": "im", "text": "Which device?"},
		{"type": "message", "user": alice, "channel": "C0GENERAL", "channel_type": "channel", "text": "reset"},
		{"type": "app_home_opened", "user": alice, "channel": im, "tab": "messages"},
	} {
		e.Deliver(e.fs.Event(ev))
	}
	e.Deliver(e.fs.DM(alice, "barrier"))
	if in := r.next(t); in.Text != "barrier" {
		t.Fatalf("an ignored message reached the engine: %+v", in)
	}
}

func TestSlashCommand(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	e.fs.AddChannel(slacktest.Channel{ID: "D0ALICEBOB", IsIM: true, User: bob}) // a DM between two people

	for _, ch := range []string{"C0GENERAL", "D0ALICEBOB"} {
		ack := e.Deliver(e.fs.Command(alice, ch, ""))
		if len(ack.Payload) > 0 && string(ack.Payload) != "null" {
			t.Errorf("ack payload %s", ack.Payload)
		}
		c, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool { return c.Method == "response_url" && c.Channel == ch })
		if err != nil {
			t.Fatal(err)
		}
		if c.Params.Get("response_type") != "ephemeral" || !strings.Contains(c.Text, "only do passcode resets in a direct message") {
			t.Errorf("answer in %s = %q (%s)", ch, c.Text, c.Params.Get("response_type"))
		}
	}
	e.Deliver(e.fs.Command(alice, slacktest.IM(alice), ""))
	in := r.next(t)
	if in.Text != "reset" || in.From.Channel != slacktest.IM(alice) || in.Email != "alice@contoso.example" {
		t.Fatalf("input = %+v", in)
	}
	e.Deliver(e.fs.Command(alice, slacktest.IM(alice), "help"))
	if in := r.next(t); in.Text != "help" {
		t.Fatalf("input = %+v", in)
	}
	if len(r.Inputs()) != 2 {
		t.Errorf("inputs = %+v", r.Inputs())
	}
	for _, c := range e.fs.Calls() {
		if c.Method == "chat.postMessage" && c.Channel == "C0GENERAL" {
			t.Error("the bot posted in the channel")
		}
	}
}

func TestHTTPMode(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r, mode: slackadapter.ModeHTTP})

	t.Run("url verification", func(t *testing.T) {
		env := slacktest.Envelope{Type: "events_api", Payload: []byte(`{"token":"x","challenge":"c4llenge","type":"url_verification"}`)}
		res, body := e.DeliverHTTP(env, secret, time.Now())
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"challenge":"c4llenge"`) {
			t.Fatalf("%s %s", res.Status, body)
		}
	})
	t.Run("bad and stale signatures change nothing", func(t *testing.T) {
		before := len(e.fs.Calls())
		for _, tc := range []struct {
			name   string
			secret string
			at     time.Time
		}{
			{"wrong secret", "not-the-secret", time.Now()},
			{"stale", secret, time.Now().Add(-6 * time.Minute)},
			{"from the future", secret, time.Now().Add(6 * time.Minute)},
		} {
			for _, env := range []slacktest.Envelope{e.fs.DM(alice, "reset"), e.fs.Command(alice, slacktest.IM(alice), "")} {
				if res, body := e.DeliverHTTP(env, tc.secret, tc.at); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s: %s %s", tc.name, env.Type, res.Status, body)
				}
			}
		}
		req, _ := e.fs.DM(alice, "reset").HTTPRequest(e.base, secret, time.Now())
		req.Header.Del("X-Slack-Signature")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned: %v %v", res.Status, err)
		}
		if got := len(e.fs.Calls()); got != before {
			t.Errorf("refused requests made %d Slack calls", got-before)
		}
		if n := len(r.Inputs()); n != 0 {
			t.Errorf("refused requests reached the engine %d times", n)
		}
	})
	t.Run("valid event, its retry, a click and a command", func(t *testing.T) {
		dm := e.fs.DM(alice, "reset")
		for _, env := range []slacktest.Envelope{dm, e.fs.Retry(dm)} {
			if res, body := e.DeliverHTTP(env, secret, time.Now()); res.StatusCode != http.StatusOK {
				t.Fatalf("%s %s", res.Status, body)
			}
		}
		if in := r.next(t); in.Text != "reset" {
			t.Fatalf("input = %+v", in)
		}
		// The reply the engine would send, with a button to click.
		im := slacktest.IM(alice)
		_, _ = e.fs.WaitCall(e.ctx, slacktest.Method("users.info"))
		if err := e.adapter.Send(e.ctx, e.addr(alice), e.buttonMessage()); err != nil {
			t.Fatal(err)
		}
		m := e.WaitMessage(im, "buttons", slacktest.HasAction("pcb_button_0"))
		click, err := e.fs.Click(alice, im, m.TS, "pcb_button_0", "")
		if err != nil {
			t.Fatal(err)
		}
		if res, body := e.DeliverHTTP(click, secret, time.Now()); res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s", res.Status, body)
		}
		if in := r.next(t); in.Action != "start" {
			t.Fatalf("input = %+v; the retry of the event reached the engine?", in)
		}
		e.WaitMessage(im, "clicked", func(m2 slacktest.Message) bool { return m2.TS == m.TS && len(m2.Actions()) == 0 })
		if res, body := e.DeliverHTTP(e.fs.Command(alice, im, ""), secret, time.Now()); res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s", res.Status, body)
		}
		if in := r.next(t); in.Text != "reset" {
			t.Fatalf("input = %+v", in)
		}
	})
}

func TestOneClickPerMessage(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	im := slacktest.IM(alice)
	msg := resetflow.Message{Text: "Which one?", Choices: []resetflow.Choice{{Value: "pick:f:0", Label: "Phone A"}, {Value: "pick:f:1", Label: "Phone B"}},
		Buttons: []resetflow.Button{{Value: "cancel:f", Label: "Cancel"}}}
	if err := e.adapter.Send(e.ctx, e.addr(alice), msg); err != nil {
		t.Fatal(err)
	}
	m := e.WaitMessage(im, "choices", slacktest.HasAction("pcb_choice_1"))
	first, _ := e.fs.Click(alice, im, m.TS, "pcb_choice_0", "")
	second, _ := e.fs.Click(alice, im, m.TS, "pcb_choice_1", "")
	third, _ := e.fs.Click(alice, im, m.TS, "pcb_button_0", "")
	e.Deliver(first)
	e.Deliver(second)
	e.Deliver(third)
	e.Deliver(e.fs.DM(alice, "barrier"))
	if in := r.next(t); in.Action != "pick:f:0" {
		t.Fatalf("first input = %+v", in)
	}
	if in := r.next(t); in.Text != "barrier" {
		t.Fatalf("a second click on the same message reached the engine: %+v", in)
	}
	e.WaitMessage(im, "chosen", func(m2 slacktest.Message) bool {
		return m2.TS == m.TS && len(m2.Actions()) == 0 && strings.Contains(m2.Texts(), "You chose: Phone A")
	})
	if got, _ := e.fs.Message(im, m.TS); strings.Contains(got.Texts(), "Phone B\nYou chose") || got.Updates != 1 {
		t.Errorf("the message was updated %d times: %q", got.Updates, got.Texts())
	}
}
