package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// syncBuffer is a log destination the test reads while the code writes.
type syncBuffer = resetflowtest.Buffer

// waitFor waits until the buffer holds a match of re and returns it.
func waitFor(t *testing.T, b *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text, ok := b.Wait(ctx, re.MatchString)
	if !ok {
		t.Fatalf("no %v in:\n%s", re, text)
	}
	return re.FindString(text)
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	body += "\naudit: {file: '" + filepath.Join(t.TempDir(), "audit.db") + "'}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOIDCConfigErrors(t *testing.T) {
	cfg := writeConfig(t, "reauth: oidc\noidc:\n  issuer: https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no client id", []string{"-config", cfg}, map[string]string{"PASSCODEBOT_OIDC_CLIENT_SECRET": "s"}, "PASSCODEBOT_OIDC_CLIENT_ID"},
		{"no client secret", []string{"-config", cfg}, map[string]string{"PASSCODEBOT_OIDC_CLIENT_ID": "c"}, "PASSCODEBOT_OIDC_CLIENT_SECRET"},
		{"no issuer", []string{"-config", writeConfig(t, "reauth: oidc\n")}, nil, "oidc.issuer:"},
		{"bad claim", []string{"-config", writeConfig(t, "reauth: oidc\noidc: {issuer: https://idp.example.com, user_claim: email}\n")}, nil, "oidc.user_claim:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			args := append([]string{"-listen", "127.0.0.1:0"}, tc.args...)
			code := Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return tc.env[k] })
			if code != ExitConfig || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %s", code, stderr.String(), ExitConfig, tc.want)
			}
		})
	}
}

type oidcUser struct{ authTime int64 }

func (u *oidcUser) ID() string                        { return "pairwise-alice" }
func (u *oidcUser) Userinfo([]string) ([]byte, error) { return []byte(`{"sub":"pairwise-alice"}`), nil }
func (u *oidcUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		OID      string `json:"oid"`
		TID      string `json:"tid"`
		UPN      string `json:"preferred_username"`
		AuthTime int64  `json:"auth_time"`
	}{base, "8f1c2a6e-0001-4c1a-9a11-a11ce0000001", "tenant-1", "alice@contoso.example", u.authTime}, nil
}

// TestOIDCEndToEnd runs the program with reauth: oidc against a local provider:
// a reset asked in the terminal chat is signed for in the browser's place.
func TestOIDCEndToEnd(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeConfig(t, "reauth: oidc\nlog: {level: debug}\nreset: {tenant_id: tenant-1}\nhttp: {listen: \""+addr+"\"}\noidc: {issuer: \""+idp.Issuer()+"\"}\n")
	env := map[string]string{"PASSCODEBOT_OIDC_CLIENT_ID": idp.ClientID, "PASSCODEBOT_OIDC_CLIENT_SECRET": idp.ClientSecret}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	inR, inW := io.Pipe()
	defer inW.Close()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-config", cfg}, inR, &stdout, &stderr, func(k string) string { return env[k] })
	}()

	io.WriteString(inW, "reset my passcode\n")
	n := waitFor(t, &stdout, regexp.MustCompile(`\[(\d+)\] Alice's iPhone`))
	io.WriteString(inW, n[1:strings.Index(n, "]")]+"\n")
	// The sign-in link the pick sent (not a device-list link, which carries ?d=).
	link := strings.TrimPrefix(waitFor(t, &stdout, regexp.MustCompile(`browser: http://`+regexp.QuoteMeta(addr)+`/r/[A-Za-z0-9_-]+\n`)), "browser: ")
	link = strings.TrimSpace(link)

	jar, _ := cookiejar.New(nil) // the browser: the sign-in is bound to it by a cookie
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	idp.QueueUser(&oidcUser{authTime: time.Now().Unix()})
	resp, err := client.Post(link, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), idp.AuthorizationEndpoint()) {
		t.Fatalf("continue: %d to %q; stderr:\n%s", resp.StatusCode, resp.Header.Get("Location"), stderr.String())
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+idp.Addr()) {
		t.Errorf("CSP %q does not allow the provider in form-action", csp)
	}
	resp, err = client.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, "http://"+addr+"/oidc/callback?") {
		t.Fatalf("provider sent the browser to %q", cb)
	}
	resp, err = client.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "verified") {
		t.Fatalf("callback: %d\n%s\nstderr:\n%s", resp.StatusCode, body, stderr.String())
	}
	waitFor(t, &stdout, regexp.MustCompile(`\] Reset passcode`))

	cancel()
	inW.Close()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the program did not stop")
	}
	if testing.Verbose() {
		t.Logf("stderr:\n%s", stderr.String())
	}
	for _, secret := range []string{idp.ClientSecret, strings.TrimPrefix(cb[strings.Index(cb, "code="):], "code=")} {
		if i := strings.IndexByte(secret, '&'); i >= 0 {
			secret = secret[:i]
		}
		if strings.Contains(stderr.String()+stdout.String(), secret) {
			t.Errorf("the output holds a secret (%.6s…)", secret)
		}
	}
}

// TestOIDCRefusesHTTPLinks: -listen on all interfaces with reauth: oidc and no
// http.public_url stops the program with exit 2 and a message naming the key,
// before anything listens.
func TestOIDCRefusesHTTPLinks(t *testing.T) {
	cfg := writeConfig(t, "reauth: oidc\noidc:\n  issuer: https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0\n")
	env := map[string]string{"PASSCODEBOT_OIDC_CLIENT_ID": "c", "PASSCODEBOT_OIDC_CLIENT_SECRET": "s"}
	var stdout, stderr syncBuffer
	code := Main(t.Context(), []string{"-config", cfg, "-listen", "0.0.0.0:0"}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	if code != ExitConfig || !strings.Contains(stderr.String(), "http.public_url") {
		t.Errorf("exit %d, stderr %q; want %d naming http.public_url", code, stderr.String(), ExitConfig)
	}
}
