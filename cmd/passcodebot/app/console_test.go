package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
)

// TestConsoleWithSlack runs the program with Slack (a fake on loopback) and the
// console on (demo sign-in): an alert taken in the console shows as taken in
// the Slack channel, an "I'm on it" pressed in Slack shows in the console, and
// the resolve with a note closes the alert in the database both share.
func TestConsoleWithSlack(t *testing.T) { consoleWithSlack(t, "", nil) }

// TestConsoleWithSlackOnPostgres: the same with store: postgres, on a real
// PostgreSQL server (skipped loudly without one; failed with
// PASSCODEBOT_REQUIRE_POSTGRES=1).
func TestConsoleWithSlackOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	consoleWithSlack(t, "store: postgres\n", map[string]string{postgres.EnvURL: pg.NewDatabase(t)})
}

func consoleWithSlack(t *testing.T, store string, storeEnv map[string]string) {
	fs := slacktest.New(slacktest.Options{})
	t.Cleanup(fs.Close)
	fs.AddUser(slacktest.User{ID: "UBOB", Name: "bob", Email: "bob@contoso.example", Locale: "en-US"})
	fs.AddUser(slacktest.User{ID: "UDAVE", Name: "dave", Email: "dave@contoso.example", Locale: "en-US"})
	fs.AddUser(slacktest.User{ID: "UHELEN", Name: "helen", Email: "helen@contoso.example", Locale: "en-US"})
	fs.AddChannel(slacktest.Channel{ID: "CHELP", Name: "helpdesk"})
	cfg := writeConfig(t, store+fmt.Sprintf(`chat: [slack]
insecure_demo_signin_with_real_chat: true
slack: {mode: socket, api_url: %s, helpdesk_channel: CHELP}
console: {enabled: true}
`, fs.APIURL()))
	env := map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken}
	for k, v := range storeEnv {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the program did not stop")
		}
		if t.Failed() {
			t.Logf("program log:\n%s", stderr.String())
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := fs.WaitConnections(wctx, 1); err != nil {
		t.Fatal(err)
	}
	base := "http://" + regexp.MustCompile(`passcodebot starting.* http=(\S+)`).FindStringSubmatch(waitFor(t, &stderr, regexp.MustCompile(`passcodebot starting.* http=\S+`)))[1]

	// Bob picks the warehouse scanner: contact support, an alert in #helpdesk.
	alertOf := func(user, device string) slacktest.Message {
		t.Helper()
		fs.Deliver(fs.DM(user, "reset"))
		if _, err := fs.WaitMessage(wctx, slacktest.IM(user), func(m slacktest.Message) bool { return strings.Contains(m.Texts(), device) }); err != nil {
			t.Fatal(err)
		}
		n := len(fs.Messages("CHELP"))
		fs.Deliver(fs.DM(user, map[string]string{"UBOB": "2", "UDAVE": "1"}[user]))
		m, err := fs.WaitMessage(wctx, "CHELP", func(m slacktest.Message) bool {
			return len(fs.Messages("CHELP")) > n && strings.Contains(m.Texts(), device)
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	scanner := alertOf("UBOB", "Warehouse scanner 12")
	scannerID := scanner.Actions()[0].Value

	// The demo helpdesk user signs in to the console and takes it.
	jar := map[string]string{}
	do := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range jar {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		for _, c := range resp.Cookies() {
			jar[c.Name] = c.Value
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := do("GET", "/console/", nil)
	login := regexp.MustCompile(`name="login" value="([^"]+)"`).FindStringSubmatch(page)
	if login == nil {
		t.Fatalf("no demo sign-in on the console:\n%s", page)
	}
	if code, _ := do("POST", "/console/demo-signin", url.Values{"login": {login[1]}}); code != 200 || jar[console.SessionCookie] == "" {
		t.Fatalf("demo sign-in: %d", code)
	}
	_, page = do("GET", "/console/alerts", nil)
	if !strings.Contains(page, `id="alert-`+scannerID+`"`) {
		t.Fatalf("the console does not list the Slack alert %s:\n%s", scannerID, page)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)[1]
	if code, _ := do("POST", "/console/alerts/"+scannerID+"/take", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("take: %d", code)
	}
	m, err := fs.WaitMessage(wctx, "CHELP", func(m slacktest.Message) bool {
		return m.TS == scanner.TS && strings.Contains(m.Texts(), console.DemoUser+" (console) is on it")
	})
	if err != nil {
		t.Fatalf("Slack does not show the console's take: %v", err)
	}
	if len(m.Actions()) != 0 {
		t.Errorf("the Slack alert still has its button after the console took it")
	}

	// Dave's Surface: Helen presses "I'm on it" in Slack; the console shows her.
	surface := alertOf("UDAVE", "Surface Pro")
	surfaceID := surface.Actions()[0].Value
	click, err := fs.Click("UHELEN", "CHELP", surface.TS, "alert_take", surfaceID)
	if err != nil {
		t.Fatal(err)
	}
	fs.Deliver(click)
	if _, err := fs.WaitMessage(wctx, "CHELP", func(m slacktest.Message) bool {
		return m.TS == surface.TS && strings.Contains(m.Texts(), "<@UHELEN> is on it")
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, page = do("GET", "/console/alerts", nil)
		if strings.Contains(page, "slack:UHELEN (slack,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console does not show Helen's Slack take:\n%s", page)
		}
		time.Sleep(20 * time.Millisecond) // the click is handled asynchronously by the adapter
	}
	if strings.Contains(page[strings.Index(page, `id="alert-`+surfaceID+`"`):], `class="take"`) {
		// (the surface is the newest: its block and the scanner's follow, both taken)
		t.Errorf("an alert taken in Slack still offers Take in the console")
	}
	if code, _ := do("POST", "/console/alerts/"+surfaceID+"/resolve", url.Values{"csrf": {csrf}, "note": {"Told Dave the Surface has no passcode reset"}}); code != http.StatusSeeOther {
		t.Fatalf("resolve: %d", code)
	}
	_, page = do("GET", "/console/alerts", nil)
	if strings.Contains(page, `id="alert-`+surfaceID+`"`) {
		t.Errorf("the resolved alert is still open")
	}
	_, page = do("GET", "/console/alerts?all=1", nil)
	if !strings.Contains(page, "Told Dave the Surface has no passcode reset") {
		t.Errorf("the note is not shown")
	}
}

// TestConsoleOnAdminListener: with console.listener: admin the console is
// served on http.admin_listen only, not beside the public sign-in pages.
func TestConsoleOnAdminListener(t *testing.T) {
	pub, admin := freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf("http: {listen: %q, admin_listen: %q}\nconsole: {enabled: true, listener: admin}\n", pub, admin))
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	inR, inW := io.Pipe()
	defer inW.Close()
	go func() {
		done <- Main(ctx, []string{"-config", cfg}, inR, &stdout, &stderr, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the program did not stop")
		}
	})
	waitFor(t, &stderr, regexp.MustCompile(`passcodebot starting`))
	get := func(addr string) int {
		for deadline := time.Now().Add(10 * time.Second); ; {
			resp, err := http.Get("http://" + addr + "/console/")
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // the listener comes up asynchronously
		}
	}
	if code := get(admin); code != http.StatusUnauthorized {
		t.Errorf("console on the admin listener: %d, want the sign-in page (401)", code)
	}
	if code := get(pub); code != http.StatusNotFound {
		t.Errorf("console on the public listener: %d, want 404", code)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestConsoleOIDCWiring: with reauth: oidc the console signs in with the same
// provider and client on its own redirect URI, PKCE and a nonce.
func TestConsoleOIDCWiring(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	addr := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf("reauth: oidc\nhttp: {listen: %q}\noidc: {issuer: %q}\nconsole: {enabled: true, allowed_roles: [Helpdesk.Console]}\n", addr, idp.Issuer()))
	env := map[string]string{"PASSCODEBOT_OIDC_CLIENT_ID": idp.ClientID, "PASSCODEBOT_OIDC_CLIENT_SECRET": idp.ClientSecret}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	inR, inW := io.Pipe()
	defer inW.Close()
	go func() {
		done <- Main(ctx, []string{"-config", cfg}, inR, &stdout, &stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the program did not stop")
		}
		if t.Failed() {
			t.Logf("program log:\n%s", stderr.String())
		}
	})
	waitFor(t, &stderr, regexp.MustCompile(`passcodebot starting`))
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err = client.Get("http://" + addr + "/console/signin"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the listener comes up asynchronously
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), idp.Issuer()) {
		t.Fatalf("sign-in: %d to %q; want a redirect to the provider", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("redirect_uri") != "http://"+addr+console.CallbackPath || q.Get("client_id") != idp.ClientID ||
		q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Errorf("authorization request %v", q)
	}
}
