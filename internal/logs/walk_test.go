package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

// The secret values the crafted calls carry; none may reach the output.
const (
	sPass   = "Kp4sW9qzR"               // a temporary passcode
	sPin    = "731946"                  // a PIN
	sBasic  = "YWxpY2U6aHVudGVyMg=="    // base64 of alice:hunter2
	sCookie = "sess-9f8e7d6c5b4a3210"   // a session cookie
	sTok    = "tok-AbCdEf0123456789xyz" // an opaque token
	sPwd    = "hunter2pw"               // a password
	sCode   = "0.AXoA-auth-code-zz9"    // an OAuth code
	sKey    = "key-11aa22bb33cc44dd"    // an API key
)

var allSecrets = []string{sPass, sPin, sBasic, sCookie, sTok, sPwd, sCode, sKey}

type creds struct {
	User     string
	Password string
	Token    string `json:"tok"`
}

type inner struct {
	Name string
	PIN  string
}

type outer struct {
	ID     string
	Inner  inner
	Ptr    *inner
	List   []inner
	Labels map[string]string
	Any    any
	secret string // unexported: fmt would print it
	note   string
}

type headerLine string

type cyclic struct {
	Next  *cyclic
	Token string
}

type manyFields struct {
	A, B, C, D, E, F, G, H string
	Passcode               string
}

// TestRedactionComposite logs secrets inside every shape a log call could carry
// them in (structs, nested structs, pointers, slices, arrays, maps, interfaces,
// json.RawMessage, []byte, http.Header, url.Values, *url.URL, errors, named
// string types, unexported fields, cycles, long lists) and under sensitive
// keys (pin, Authorization: Basic, Cookie, ...), in both formats: no secret
// value appears, and the ordinary values beside them still do.
func TestRedactionComposite(t *testing.T) {
	loop := &cyclic{Token: sTok}
	loop.Next = loop
	long := make([]string, 5000)
	for i := range long {
		long[i] = "fine"
	}
	long[4999] = "password=" + sPwd
	deep := any(map[string]any{"password": sPwd})
	for range 20 {
		deep = map[string]any{"d": deep}
	}
	u, _ := url.Parse("https://alice:" + sPwd + "@idp.example/cb?code=" + sCode + "&visible=ok")
	calls := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"pin key", func(l *slog.Logger) { l.Info("m", "pin", sPin, "visible", "ok") }},
		{"PIN key", func(l *slog.Logger) { l.Info("m", "PIN", sPin) }},
		{"new_pin key", func(l *slog.Logger) { l.Info("m", "new_pin", sPin) }},
		{"devicePin key", func(l *slog.Logger) { l.Info("m", "devicePin", sPin) }},
		{"pin_code key", func(l *slog.Logger) { l.Info("m", "pin_code", sPin) }},
		{"int pin", func(l *slog.Logger) { l.Info("m", "pin", 731946) }},
		{"pwd key", func(l *slog.Logger) { l.Info("m", "pwd", sPwd) }},
		{"session key", func(l *slog.Logger) { l.Info("m", "session", sCookie) }},
		{"otp key", func(l *slog.Logger) { l.Info("m", "otp", sPin) }},
		{"private_key", func(l *slog.Logger) { l.Info("m", "private_key", sKey) }},
		{"x-api-key key", func(l *slog.Logger) { l.Info("m", "x-api-key", sKey) }},
		{"basic in string", func(l *slog.Logger) { l.Info("m", "h", "Authorization: Basic "+sBasic) }},
		{"basic alone", func(l *slog.Logger) { l.Info("m", "auth_value", "Basic "+sBasic) }},
		{"basic in message", func(l *slog.Logger) { l.Info("sent Authorization: Basic " + sBasic) }},
		{"cookie line", func(l *slog.Logger) { l.Info("m", "raw", "Cookie: sid="+sCookie+"; theme=dark") }},
		{"set-cookie line", func(l *slog.Logger) { l.Info("m", "raw", "Set-Cookie: sid="+sCookie+"; HttpOnly") }},
		{"header dump", func(l *slog.Logger) {
			l.Info("m", "raw", "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "+sBasic+"\r\nCookie: s="+sCookie+"\r\n")
		}},
		{"x-api-key line", func(l *slog.Logger) { l.Info("m", "raw", "X-Api-Key: "+sKey) }},
		{"pin=value", func(l *slog.Logger) { l.Info("m", "detail", "reset ok pin="+sPin) }},
		{"pin: value", func(l *slog.Logger) { l.Info("m", "detail", "pin: "+sPin) }},
		{"query pin", func(l *slog.Logger) { l.Info("m", "url", "https://x.example/p?pin="+sPin+"&a=1") }},
		{"query password", func(l *slog.Logger) { l.Info("m", "url", "https://x.example/p?password="+sPwd) }},
		{"query token", func(l *slog.Logger) { l.Info("m", "url", "https://x.example/p?token="+sTok) }},
		{"query key", func(l *slog.Logger) { l.Info("m", "url", "https://x.example/p?key="+sKey) }},
		{"userinfo", func(l *slog.Logger) { l.Info("m", "dsn", "postgres://bot:"+sPwd+"@db.example/x") }},
		{"*url.URL", func(l *slog.Logger) { l.Info("m", "url", u) }},
		{"url.URL value", func(l *slog.Logger) { l.Info("m", "url", *u) }},
		{"json string", func(l *slog.Logger) { l.Info("m", "body", `{"pin":"`+sPin+`","visible":"ok"}`) }},
		{"json.RawMessage", func(l *slog.Logger) { l.Info("m", "body", json.RawMessage(`{"pin":"`+sPin+`","visible":"ok"}`)) }},
		{"json.RawMessage nested", func(l *slog.Logger) {
			l.Info("m", "body", json.RawMessage(`{"a":[{"b":{"passcode":"`+sPass+`"}}]}`))
		}},
		{"json.RawMessage header value", func(l *slog.Logger) {
			l.Info("m", "body", json.RawMessage(`{"headers":{"Authorization":"Basic `+sBasic+`"}}`))
		}},
		{"json.RawMessage array", func(l *slog.Logger) { l.Info("m", "body", json.RawMessage(`["Basic `+sBasic+`"]`)) }},
		{"[]byte json", func(l *slog.Logger) { l.Info("m", "body", []byte(`{"password":"`+sPwd+`"}`)) }},
		{"[]byte text", func(l *slog.Logger) { l.Info("m", "body", []byte("Cookie: a="+sCookie)) }},
		{"http.Header", func(l *slog.Logger) {
			l.Info("m", "headers", http.Header{"Authorization": {"Basic " + sBasic}, "Cookie": {"s=" + sCookie}, "Accept": {"visible-ok"}})
		}},
		{"http.Header proxy", func(l *slog.Logger) {
			l.Info("m", "headers", http.Header{"Proxy-Authorization": {"Negotiate " + sTok}})
		}},
		{"http.Header set-cookie", func(l *slog.Logger) { l.Info("m", "headers", http.Header{"Set-Cookie": {"s=" + sCookie}}) }},
		{"http.Header api key", func(l *slog.Logger) { l.Info("m", "headers", http.Header{"X-Api-Key": {sKey}}) }},
		{"*http.Header", func(l *slog.Logger) {
			h := http.Header{"Authorization": {"Bearer " + sTok}}
			l.Info("m", "headers", &h)
		}},
		{"url.Values", func(l *slog.Logger) {
			l.Info("m", "form", url.Values{"code": {sCode}, "state": {sTok}, "pin": {sPin}, "visible": {"ok"}})
		}},
		{"url.Values password", func(l *slog.Logger) { l.Info("m", "form", url.Values{"password": {sPwd}, "client_secret": {sKey}}) }},
		{"struct", func(l *slog.Logger) { l.Info("m", "c", creds{User: "visible-ok", Password: sPwd, Token: sTok}) }},
		{"*struct", func(l *slog.Logger) { l.Info("m", "c", &creds{User: "u", Password: sPwd}) }},
		{"nested struct", func(l *slog.Logger) {
			l.Info("m", "o", outer{ID: "visible-ok", Inner: inner{Name: "n", PIN: sPin}})
		}},
		{"nested pointer", func(l *slog.Logger) { l.Info("m", "o", outer{Ptr: &inner{PIN: sPin}}) }},
		{"slice of structs", func(l *slog.Logger) { l.Info("m", "o", outer{List: []inner{{PIN: sPin}, {PIN: sPin}}}) }},
		{"map in struct", func(l *slog.Logger) { l.Info("m", "o", outer{Labels: map[string]string{"token": sTok}}) }},
		{"any in struct", func(l *slog.Logger) { l.Info("m", "o", outer{Any: map[string]any{"password": sPwd}}) }},
		{"unexported field", func(l *slog.Logger) { l.Info("m", "o", outer{secret: sTok, note: "Basic " + sBasic}) }},
		{"unexported string shape", func(l *slog.Logger) { l.Info("m", "o", outer{note: "pin=" + sPin}) }},
		{"map[string]string", func(l *slog.Logger) { l.Info("m", "m", map[string]string{"password": sPwd, "visible": "ok"}) }},
		{"map[string]any", func(l *slog.Logger) { l.Info("m", "m", map[string]any{"a": map[string]any{"passcode": sPass}}) }},
		{"map value shape", func(l *slog.Logger) { l.Info("m", "m", map[string]string{"h": "Authorization: Basic " + sBasic}) }},
		{"map[int]string", func(l *slog.Logger) { l.Info("m", "m", map[int]string{1: "token=" + sTok}) }},
		{"[]string", func(l *slog.Logger) { l.Info("m", "s", []string{"ok", "Cookie: x=" + sCookie}) }},
		{"[2]string", func(l *slog.Logger) { l.Info("m", "s", [2]string{"ok", "password=" + sPwd}) }},
		{"[]any", func(l *slog.Logger) { l.Info("m", "s", []any{1, creds{Password: sPwd}}) }},
		{"[][]byte", func(l *slog.Logger) { l.Info("m", "s", [][]byte{[]byte("pin=" + sPin)}) }},
		{"named string", func(l *slog.Logger) { l.Info("m", "h", headerLine("Authorization: Basic "+sBasic)) }},
		{"error with basic", func(l *slog.Logger) { l.Error("m", "err", errors.New("got Authorization: Basic "+sBasic)) }},
		{"wrapped error", func(l *slog.Logger) {
			l.Error("m", "err", fmt.Errorf("post: %w", errors.New("password="+sPwd)))
		}},
		{"error in struct", func(l *slog.Logger) { l.Info("m", "o", outer{Any: errors.New("pin=" + sPin)}) }},
		{"cycle", func(l *slog.Logger) { l.Info("m", "c", loop) }},
		{"long slice", func(l *slog.Logger) { l.Info("m", "s", long) }},
		{"deep map", func(l *slog.Logger) { l.Info("m", "d", deep) }},
		{"many fields", func(l *slog.Logger) { l.Info("m", "f", manyFields{A: "a", Passcode: sPass}) }},
		{"group", func(l *slog.Logger) { l.Info("m", slog.Group("req", "headers", http.Header{"Cookie": {sCookie}})) }},
		{"with", func(l *slog.Logger) { l.With("form", url.Values{"pin": {sPin}}).Info("m") }},
		{"with group", func(l *slog.Logger) { l.WithGroup("g").Info("m", "c", creds{Password: sPwd}) }},
		{"secret value", func(l *slog.Logger) { l.Info("m", "v", *resetflow.NewSecret("x", sPass)) }},
		{"secret in result", func(l *slog.Logger) {
			l.Info("m", "r", resetflow.ActionResult{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", sPass)})
		}},
		{"secret in message", func(l *slog.Logger) {
			l.Info("m", "msg", resetflow.Message{Text: "visible-ok", Secret: resetflow.NewSecret("", sPass)})
		}},
		{"secret in map", func(l *slog.Logger) { l.Info("m", "m", map[string]any{"v": resetflow.NewSecret("", sPass)}) }},
		{"http.Request", func(l *slog.Logger) {
			r, _ := http.NewRequest("GET", "https://x.example/?code="+sCode, nil)
			r.Header.Set("Authorization", "Basic "+sBasic)
			r.Header.Set("Cookie", "s="+sCookie)
			l.Info("m", "req", r)
		}},
		{"sprintf message", func(l *slog.Logger) { l.Info(fmt.Sprintf("form %v", url.Values{"password": {sPwd}})) }},
	}
	if len(calls) < 60 {
		t.Fatalf("only %d crafted calls", len(calls))
	}
	for _, format := range []string{"text", "json"} {
		for _, c := range calls {
			var buf bytes.Buffer
			l := New(&buf, format, slog.LevelDebug)
			c.log(l)
			out := buf.String()
			for _, s := range allSecrets {
				if strings.Contains(out, s) {
					t.Errorf("%s %s: %q leaks:\n%s", format, c.name, s, out)
				}
			}
			if out == "" {
				t.Errorf("%s %s: nothing logged", format, c.name)
			}
		}
	}
	// Ordinary values beside the secrets stay readable.
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		l := New(&buf, format, slog.LevelDebug)
		l.Info("m", "headers", http.Header{"Authorization": {"Basic " + sBasic}, "Accept": {"visible-accept"}})
		l.Info("m", "form", url.Values{"code": {sCode}, "page": {"visible-page"}})
		l.Info("m", "c", creds{User: "visible-user", Password: sPwd})
		l.Info("m", "body", json.RawMessage(`{"pin":"`+sPin+`","name":"visible-json"}`))
		l.Info("m", "plain", map[string]int{"visible-count": 3}, "device", "dev-pixel", "n", 7)
		out := buf.String()
		for _, want := range []string{"visible-accept", "visible-page", "visible-user", "visible-json", "visible-count", "dev-pixel", "redacted"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q is missing from the output:\n%s", format, want, out)
			}
		}
	}
}

// TestSanitizeUnchanged: a value with nothing sensitive is logged as itself.
func TestSanitizeUnchanged(t *testing.T) {
	for _, v := range []any{
		map[string]int{"a": 1}, []string{"x", "y"}, inner{Name: "n"}, &inner{Name: "n"}, json.RawMessage(`{"a":1}`),
		http.Header{"Accept": {"text/html"}}, url.Values{"page": {"2"}}, errors.New("plain"),
	} {
		if _, changed := sanitize(v); changed {
			t.Errorf("sanitize(%#v) changed a harmless value", v)
		}
	}
}
