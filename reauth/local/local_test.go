package local_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/local"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

type env struct {
	clk    *clock.Fake
	eng    *resetflow.Engine
	chat   *resetflowtest.Chat
	alerts *resetflowtest.Alerts
	srv    *httptest.Server
}

func setup(t *testing.T) *env {
	// The engine as before the kit: no public URL, no recorder, no stores.
	k := resetflowtest.Start(t, func(_ *resetflowtest.Kit, cfg *resetflow.Config, d *resetflow.Deps) {
		cfg.PublicURL = ""
		d.Recorder, d.Store, d.Links = nil, nil, nil
	})
	clk, fl, cat := k.Clock, k.Fleet, k.Catalog
	e := &env{clk: clk, eng: k.Engine, chat: k.Chat, alerts: k.Alerts}
	pages := &reauth.Pages{Catalog: cat, Location: time.UTC}
	mux := http.NewServeMux()
	(&reauth.Server{Windows: e.eng, Provider: &local.Provider{Windows: e.eng, Pages: pages, Clock: clk, Users: fl.Users()}, Pages: pages}).Register(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// link starts a reset for the user in the given language and returns the sign-in token.
func (e *env) link(t *testing.T, user, text string) string {
	e.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "t", UserID: user}, Email: user, Text: text})
	e.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "t", UserID: user}, Email: user, Text: "1"})
	m, _ := e.chat.Last()
	if m.Link == nil {
		t.Fatalf("no link: %q", m.Text)
	}
	return m.Link.URL[strings.LastIndex(m.Link.URL, "/")+1:]
}

func get(t *testing.T, u string) (*http.Response, string) {
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func post(t *testing.T, u string, v url.Values) (*http.Response, string) {
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func checkHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	h := resp.Header
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("%s: security headers missing: %v", resp.Request.URL.Path, h)
	}
}

func TestPreviewDoesNotConsume(t *testing.T) {
	e := setup(t)
	tok := e.link(t, "alice@contoso.example", "reset")
	for range 3 {
		resp, body := get(t, e.srv.URL+"/r/"+tok)
		checkHeaders(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, "Continue to sign-in") || !strings.Contains(body, "09:05 UTC") {
			t.Fatalf("landing: %d %s", resp.StatusCode, body)
		}
	}
	resp, body := post(t, e.srv.URL+"/r/"+tok, nil)
	checkHeaders(t, resp)
	if !strings.Contains(body, "Demo sign-in") {
		t.Fatalf("continue: %s", body)
	}
	resp, body = post(t, e.srv.URL+"/local/signin", url.Values{"token": {tok}, "choice": {"alice@contoso.example"}})
	checkHeaders(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "Go back to the chat") {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	if m, _ := e.chat.Last(); !strings.Contains(m.Text, "physical access") {
		t.Errorf("chat did not move to the warning")
	}
	resp, body = get(t, e.srv.URL+"/r/"+tok)
	if resp.StatusCode != 404 || !strings.Contains(body, "already used") {
		t.Errorf("used link: %d %s", resp.StatusCode, body)
	}
}

func TestExpiredAndUnknownPages(t *testing.T) {
	e := setup(t)
	tok := e.link(t, "alice@contoso.example", "reset")
	e.clk.Advance(5*time.Minute + time.Second)
	resp, body := get(t, e.srv.URL+"/r/"+tok)
	checkHeaders(t, resp)
	if resp.StatusCode != http.StatusGone {
		t.Errorf("expired link: %d", resp.StatusCode)
	}
	if !strings.Contains(body, "expired") || !strings.Contains(body, "Ask the bot again") {
		t.Errorf("expired page: %s", body)
	}
	resp, body = post(t, e.srv.URL+"/local/signin", url.Values{"token": {tok}, "choice": {"alice@contoso.example"}})
	if resp.StatusCode == 200 {
		t.Errorf("signed in after expiry: %s", body)
	}
	resp, body = get(t, e.srv.URL+"/r/not-a-token")
	if resp.StatusCode != 404 || !strings.Contains(body, "never existed") {
		t.Errorf("unknown token: %d %s", resp.StatusCode, body)
	}
}

func TestWrongPersonPage(t *testing.T) {
	e := setup(t)
	tok := e.link(t, "alice@contoso.example", "reset")
	resp, body := post(t, e.srv.URL+"/local/signin", url.Values{"token": {tok}, "choice": {"bob@contoso.example"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sign in as the device owner") {
		t.Fatalf("wrong person: %d %s", resp.StatusCode, body)
	}
	if got := e.alerts.Kinds(); len(got) != 1 || got[0] != resetflow.AlertWrongPerson {
		t.Errorf("alerts %+v", got)
	}
	resp, _ = post(t, e.srv.URL+"/local/signin", url.Values{"token": {tok}, "choice": {"nobody@x"}})
	if resp.StatusCode == 200 {
		t.Errorf("unknown demo user signed in")
	}
}

func TestJapanesePages(t *testing.T) {
	e := setup(t)
	tok := e.link(t, "alice@contoso.example", "パスコードをリセット")
	resp, body := get(t, e.srv.URL+"/r/"+tok)
	if resp.StatusCode != 200 || !strings.Contains(body, `lang="ja"`) || !strings.Contains(body, "サインインに進む") {
		t.Fatalf("Japanese landing: %s", body)
	}
	_, body = post(t, e.srv.URL+"/local/signin", url.Values{"token": {tok}, "choice": {"alice@contoso.example"}})
	if !strings.Contains(body, "チャットに戻って") {
		t.Errorf("Japanese success: %s", body)
	}
}
