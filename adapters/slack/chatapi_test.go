package slack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/catalog"
)

// recorded is one request as the server read it.
type recorded struct {
	method, path, contentType, auth string
	body                            string
}

// recorder is a Web API on loopback that keeps each request and answers
// with status, headers and body set by the test.
type recorder struct {
	mu      sync.Mutex
	reqs    []recorded
	status  int
	header  http.Header
	answer  string
	srv     *httptest.Server
	adapter *Adapter
	client  *slackgo.Client
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{status: 200, answer: `{"ok":true,"channel":"D0ALICE","ts":"1700000000.000100","message":{"text":"x","ts":"1700000000.000100"}}`}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Get("Content-Type"), req.Header.Get("Authorization"), string(b)})
		status, header, answer := r.status, r.header, r.answer
		r.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(r.srv.Close)
	a, err := New(Config{BotToken: "xoxb-1234-secret+/=", AppToken: "xapp-x", Catalog: catalog.MustNew("en"), Location: time.UTC, APIURL: r.srv.URL + "/api/"})
	if err != nil {
		t.Fatal(err)
	}
	r.adapter = a
	r.client = slackgo.New(a.cfg.BotToken, slackgo.OptionAPIURL(a.cfg.APIURL), slackgo.OptionHTTPClient(a.cfg.HTTPClient))
	return r
}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// sameRequest fails unless ours is slack-go's request: method, path, content
// type, no Authorization header, and the same form body byte for byte (and
// so the same fields and values).
func sameRequest(t *testing.T, what string, got, want recorded) {
	t.Helper()
	if wv, err := url.ParseQuery(want.body); err == nil && len(wv["blocks"]) == 1 {
		// slack-go's blocks as go1.27's encoding/json writes them (asGo127).
		if b := string(asGo127([]byte(wv["blocks"][0]))); b != wv["blocks"][0] {
			wv["blocks"][0] = b
			want.body = wv.Encode()
		}
	}
	if got != want {
		gv, _ := url.ParseQuery(got.body)
		wv, _ := url.ParseQuery(want.body)
		t.Errorf("%s: request differs\n got: %+v\nwant: %+v\n got form: %v\nwant form: %v", what, got, want, gv, wv)
	}
}

// TestChatSendSendsWhatSlackGoSends: chat.postMessage and chat.update, for
// every message shape with hostile text and channel, ts and token values that
// need escaping, go out as slack-go's PostMessageContext and
// UpdateMessageContext sent them (with the blocks slack-go built before), and
// the answer's ts is the one slack-go read.
func TestChatSendSendsWhatSlackGoSends(t *testing.T) {
	r := newRecorder(t)
	a, ctx := r.adapter, context.Background()
	n := 0
	for _, s := range hostile {
		for name, m := range messageShapes(s) {
			what := fmt.Sprintf("%s %q", name, s)
			text, blocks := a.render(m, "en")
			_, sgBlocks := a.renderSlackGo(m, "en")
			channel := "D0ALICE"
			ts, err := a.post(ctx, channel, text, blocks)
			if err != nil {
				t.Fatal(err)
			}
			_, wantTS, err := r.client.PostMessageContext(ctx, channel, slackgo.MsgOptionText(text, true), slackgo.MsgOptionBlocks(sgBlocks...),
				slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
			if err != nil {
				t.Fatal(err)
			}
			if ts != wantTS || ts != "1700000000.000100" {
				t.Errorf("%s: ts %q, slack-go %q", what, ts, wantTS)
			}
			for _, escapeText := range []bool{true, false} {
				if err := a.update(ctx, channel, "1700000000.000100", text, escapeText, blocks); err != nil {
					t.Fatal(err)
				}
				if _, _, _, err := r.client.UpdateMessageContext(ctx, channel, "1700000000.000100", slackgo.MsgOptionText(text, escapeText), slackgo.MsgOptionBlocks(sgBlocks...)); err != nil {
					t.Fatal(err)
				}
			}
			reqs := r.take()
			if len(reqs) != 6 {
				t.Fatalf("%s: %d requests", what, len(reqs))
			}
			if reqs[0].path != "/api/chat.postMessage" || reqs[2].path != "/api/chat.update" {
				t.Fatalf("%s: paths %q, %q", what, reqs[0].path, reqs[2].path)
			}
			sameRequest(t, what+" post", reqs[0], reqs[1])
			sameRequest(t, what+" update escaped", reqs[2], reqs[3])
			sameRequest(t, what+" update", reqs[4], reqs[5])
			n++
		}
	}
	// Values that need escaping in the form: the channel and ts too.
	if err := a.update(ctx, "C&x=1 y", "1.2+3", "a&b", false, textBlocks("i", "t")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.client.UpdateMessageContext(ctx, "C&x=1 y", "1.2+3", slackgo.MsgOptionText("a&b", false), slackgo.MsgOptionBlocks(textSection("i", "t"))); err != nil {
		t.Fatal(err)
	}
	reqs := r.take()
	sameRequest(t, "escaped channel", reqs[0], reqs[1])
	if n < 100 {
		t.Fatalf("only %d cases", n)
	}
}

// TestChatSendErrorsAsSlackGo: a rate limit, another status, Slack's error
// answer (with its metadata), an answer that is not JSON, and
// chat.postEphemeral's message_ts come back as slack-go's client returned
// them, so retry and isGone read them as before.
func TestChatSendErrorsAsSlackGo(t *testing.T) {
	r := newRecorder(t)
	a, ctx := r.adapter, context.Background()
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		answer string
	}{
		{"rate limited", 429, http.Header{"Retry-After": {"7"}}, `{"ok":false,"error":"ratelimited"}`},
		{"rate limited, bad Retry-After", 429, http.Header{"Retry-After": {"soon"}}, ``},
		{"429 without Retry-After", 429, nil, `{"ok":false,"error":"ratelimited"}`},
		{"server error", 503, nil, `<html>down</html>`},
		{"message gone", 200, nil, `{"ok":false,"error":"message_not_found"}`},
		{"invalid blocks", 200, nil, `{"ok":false,"error":"invalid_blocks","errors":["invalid additional property: x"],"response_metadata":{"messages":["[ERROR] invalid additional property: x [json-pointer:/blocks/0/x]"],"warnings":["w"]}}`},
		{"scope", 200, nil, `{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"users:read"}`},
		{"not JSON", 200, nil, `ok`},
		{"ok with a warning", 200, nil, `{"ok":true,"channel":"D1","ts":"1.5","warning":"missing_charset","response_metadata":{"warnings":["missing_charset"]}}`},
		{"message_ts", 200, nil, `{"ok":true,"message_ts":"2.5"}`},
		{"empty error", 200, nil, `{"ok":false}`},
	} {
		r.mu.Lock()
		r.status, r.header, r.answer = tc.status, tc.header, tc.answer
		r.mu.Unlock()
		channel, ts, err := a.chatSend(ctx, "chat.postMessage", a.postForm("D1", "hi", textBlocks("i", "hi")))
		wantChannel, wantTS, _, wantErr := r.client.SendMessageContext(ctx, "D1", slackgo.MsgOptionText("hi", true), slackgo.MsgOptionBlocks(textSection("i", "hi")),
			slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
		if wantErr == nil && (channel != wantChannel || ts != wantTS) {
			t.Errorf("%s: %q %q, slack-go %q %q", tc.name, channel, ts, wantChannel, wantTS)
		}
		if (err == nil) != (wantErr == nil) || reflect.TypeOf(err) != reflect.TypeOf(wantErr) {
			t.Errorf("%s: error %T %v, slack-go %T %v", tc.name, err, err, wantErr, wantErr)
			continue
		}
		if err == nil {
			continue
		}
		switch want := wantErr.(type) {
		case *slackgo.RateLimitedError:
			if got := err.(*slackgo.RateLimitedError); *got != *want {
				t.Errorf("%s: %+v, slack-go %+v", tc.name, got, want)
			}
		case slackgo.StatusCodeError, slackgo.SlackErrorResponse:
			if !reflect.DeepEqual(err, wantErr) {
				t.Errorf("%s: %#v, slack-go %#v", tc.name, err, wantErr)
			}
		default:
			if err.Error() == "" {
				t.Errorf("%s: empty error", tc.name)
			}
		}
	}
	r.take()
}

// BenchmarkChatPost is one device list posted and answered, on loopback:
// through slack-go's PostMessageContext with its blocks (before), and
// through render and post (after).
func BenchmarkChatPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(w, `{"ok":true,"channel":"D0ALICE","ts":"1700000000.000100","message":{"text":"x","ts":"1700000000.000100"}}`)
	}))
	defer srv.Close()
	a, err := New(Config{BotToken: "xoxb-bench", AppToken: "xapp-x", Catalog: catalog.MustNew("en"), Location: time.UTC, APIURL: srv.URL + "/api/"})
	if err != nil {
		b.Fatal(err)
	}
	client := slackgo.New(a.cfg.BotToken, slackgo.OptionAPIURL(a.cfg.APIURL), slackgo.OptionHTTPClient(a.cfg.HTTPClient))
	m := messageShapes("Alice's Pixel 8")["devices"]
	ctx := context.Background()
	b.Run("slack-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			text, blocks := a.renderSlackGo(m, "en")
			if _, _, err := client.PostMessageContext(ctx, "D0ALICE", slackgo.MsgOptionText(text, true), slackgo.MsgOptionBlocks(blocks...),
				slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("writer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			text, blocks := a.render(m, "en")
			if _, err := a.post(ctx, "D0ALICE", text, blocks); err != nil {
				b.Fatal(err)
			}
		}
	})
}
