package slack_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// counting is a Handler that only counts, so fuzzing never blocks on it.
type counting struct{ n atomic.Int64 }

func (c *counting) Handle(context.Context, resetflow.Input) { c.n.Add(1) }

// FuzzSlackPayload posts correctly signed, arbitrary bodies to the three HTTP
// endpoints. Whatever the body: no panic, 200 or 400 (never 5xx), and the bot
// never posts in a channel that is not a DM.
func FuzzSlackPayload(f *testing.F) {
	f.Add(uint8(0), []byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel_type":"im","channel":"D1","user":"U0ALICE","text":"reset"}}`))
	f.Add(uint8(1), []byte(`{"type":"block_actions","user":{"id":"U0ALICE"},"actions":[{"action_id":"pcb_choice_0","block_id":"b","value":"pick:x:0"}],"container":{"channel_id":"D1","message_ts":"1.1"}}`))
	f.Add(uint8(2), []byte(`{"command":"/reset-passcode","user_id":"U0ALICE","channel_id":"C0GENERAL","text":""}`))
	f.Add(uint8(0), []byte(`{"type":"url_verification","challenge":"x"}`))
	f.Add(uint8(1), []byte(`{"type":"view_submission","user":null,"actions":null}`))
	h := &counting{}
	e := start(f, options{handler: h, mode: slackadapter.ModeHTTP})
	kinds := []string{"events_api", "interactive", "slash_commands"}
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		env := slacktest.Envelope{Type: kinds[int(kind)%len(kinds)], Payload: payload}
		req, err := env.HTTPRequest(e.base, secret, time.Now())
		if err != nil {
			return // a slash command body that is not a JSON object has no form to send
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s %q: %s", env.Type, payload, res.Status)
		}
		for _, c := range e.fs.Calls() {
			if c.Method == "chat.postMessage" && c.Channel != "" && c.Channel[0] != 'D' {
				t.Fatalf("posted in %s after %s %q", c.Channel, env.Type, payload)
			}
		}
	})
}
