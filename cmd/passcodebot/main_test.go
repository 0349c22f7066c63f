package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/intune/graphtest"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "passcodebot-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "passcodebot")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lines collects a process's output and lets a test wait for a line.
type lines struct {
	mu   sync.Mutex
	cond *sync.Cond
	all  []string
	eof  bool
}

func collect(r io.Reader) *lines {
	l := &lines{}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.cond.Broadcast()
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.eof = true
		l.cond.Broadcast()
		l.mu.Unlock()
	}()
	return l
}

// next waits for the first line after index *from that matches re and returns its submatches.
func (l *lines) next(t *testing.T, from *int, re *regexp.Regexp) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		for ; *from < len(l.all); *from++ {
			if m := re.FindStringSubmatch(l.all[*from]); m != nil {
				*from++
				return m
			}
		}
		if l.eof {
			t.Fatalf("output ended without a line matching %v:\n%s", re, strings.Join(l.all, "\n"))
		}
		l.cond.Wait()
	}
}

func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// bot is the command running in a test, with its pipes.
type bot struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *lines // standard output: the terminal chat
	logs  *lines // standard error: the log
}

// launch starts the command with the config in dir (a temp dir when empty), the
// extra environment, and a free port. It is killed when the test ends.
func launch(t *testing.T, cfg, dir string, env ...string) *bot {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(binary, "-config", cfg, "-listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return &bot{cmd: cmd, stdin: stdin, out: collect(stdout), logs: collect(stderr)}
}

func (b *bot) say(s string) { io.WriteString(b.stdin, s+"\n") }

// graphEnv is the app registration of the fake Graph, as environment variables.
func graphEnv(srv *graphtest.Server) []string {
	return []string{"PASSCODEBOT_GRAPH_TENANT_ID=" + srv.TenantID, "PASSCODEBOT_GRAPH_CLIENT_ID=" + srv.ClientID,
		"PASSCODEBOT_GRAPH_CLIENT_SECRET=" + srv.ClientSecret}
}

// demoSignIn waits for the sign-in link in the chat and signs in on the demo
// sign-in form as upn, as a browser would; it returns the link's token.
func demoSignIn(t *testing.T, out *lines, i *int, upn string) string {
	t.Helper()
	link := out.next(t, i, regexp.MustCompile(`Open this link in a browser: (http://\S+/r/(\S+))`))
	resp, err := http.PostForm(link[1][:strings.Index(link[1], "/r/")]+"/local/signin", url.Values{"token": {link[2]}, "choice": {upn}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("demo sign-in as %s: %d", upn, resp.StatusCode)
	}
	return link[2]
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if !strings.Contains(body, "audit:") {
		body += "\naudit: {file: '" + filepath.Join(t.TempDir(), "audit.db") + "'}\n"
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestShellResetOverAPipe drives the real command through the terminal chat over
// a pipe, follows the printed link with an HTTP client as a browser would, and
// reads the temporary passcode and the success notice back.
func TestShellResetOverAPipe(t *testing.T) {
	cfg := writeConfig(t, "fleet: {delay: 0s}\nreset: {poll_first: 10ms, poll_max: 50ms}\n")
	b := launch(t, cfg, "")
	cmd, stdin, out, logs, say := b.cmd, b.stdin, b.out, b.logs, b.say
	i := 0

	out.next(t, &i, regexp.MustCompile(`You are alice@contoso\.example`))
	say("reset my passcode")
	pixel := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Alice's Pixel 8 — Google Pixel 8 · Android 15 · last check-in`))
	say(pixel[1])
	out.next(t, &i, regexp.MustCompile(`This link works until \d\d:\d\d`))
	link := out.next(t, &i, regexp.MustCompile(`Open this link in a browser: (http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_-]+)`))[1]

	client := &http.Client{Timeout: 10 * time.Second}
	// A link preview's GET changes nothing.
	for range 2 {
		resp, err := client.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Continue to sign-in") {
			t.Fatalf("landing page: %d %s", resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
	}
	resp, err := client.PostForm(link, nil)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(form), `value="alice@contoso.example"`) {
		t.Fatalf("sign-in form: %s", form)
	}
	tok := link[strings.LastIndex(link, "/")+1:]
	base := link[:strings.Index(link, "/r/")]
	resp, err = client.PostForm(base+"/local/signin", url.Values{"token": {tok}, "choice": {"alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Go back to the chat") {
		t.Fatalf("sign-in result: %d %s", resp.StatusCode, page)
	}
	// The link is single-use.
	resp, err = client.PostForm(base+"/local/signin", url.Values{"token": {tok}, "choice": {"alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("a used link signed in again")
	}

	out.next(t, &i, regexp.MustCompile(`Warning: after the passcode of Alice's Pixel 8 is reset, anyone with physical access`))
	reset := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Reset passcode$`))
	say(reset[1])
	out.next(t, &i, regexp.MustCompile(`Resetting the passcode of Alice's Pixel 8`))
	pass := out.next(t, &i, regexp.MustCompile(`^\s+Temporary passcode: ([A-Za-z0-9]{8})$`))[1]
	out.next(t, &i, regexp.MustCompile(`Settings > Security > Work profile screen lock`))
	out.next(t, &i, regexp.MustCompile(`Done: the passcode of Alice's Pixel 8 was reset successfully\.`))

	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.text())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not stop at the end of its input")
	}
	if strings.Contains(logs.text(), pass) {
		t.Errorf("the temporary passcode appears in the log")
	}
	if strings.Contains(logs.text(), tok) {
		t.Errorf("the sign-in token appears in the log")
	}
}

func TestBadConfigExitsTwo(t *testing.T) {
	tests := []struct{ body, key string }{
		{"chat: [irc]\n", "chat[0]"},
		{"reset: {window: 10m}\n", "reset.window"},
		{"reset: {max_per_day: 0}\n", "reset.max_per_day"},
		{"locale: fr\n", "locale"},
		{"chat: [slack]\n", "reauth"},
		{"rules:\n  - {name: x, decision: allow}\n", "rules[0].outcome"},
		{"no_such_key: 1\n", "no_such_key"},
		{"http: {listen: nope}\n", "http.listen"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			cmd := exec.Command(binary, "-config", writeConfig(t, tt.body))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit = %v, want 2; stderr: %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.key) {
				t.Errorf("error %q does not name %s", stderr.String(), tt.key)
			}
		})
	}
}

// TestSIGTERMStopsCleanly: a signal stops the bot in order, with exit code 0.
func TestSIGTERMStopsCleanly(t *testing.T) {
	cmd := exec.Command(binary, "-listen", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := collect(stderr)
	i := 0
	logs.next(t, &i, regexp.MustCompile(`passcodebot starting`))
	cmd.Process.Signal(syscall.SIGTERM)
	logs.next(t, &i, regexp.MustCompile(`shutting down`))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.text())
	}
}

// TestShellResetWithIntune runs the same conversation with devices: intune
// against the fake Graph: token, device list, resetPasscode and the action result.
func TestShellResetWithIntune(t *testing.T) {
	srv := graphtest.New(graphtest.Options{PageSize: 1})
	defer srv.Close()
	srv.AddUser(graphtest.User{ID: "a11ce000-0000-4000-8000-000000000001", UPN: "alice@contoso.example", DisplayName: "Alice"},
		graphtest.Device{ID: "dev-scanner", Name: "Scanner 12", Model: "TC52", Manufacturer: "Zebra", OperatingSystem: "Android",
			OSVersion: "11", OwnerType: "company", EnrollmentType: "androidEnterpriseDedicatedDevice", DeviceType: "androidEnterprise"},
		graphtest.Device{ID: "dev-pixel", Name: "Alice's Pixel 8", Model: "Pixel 8", Manufacturer: "Google", OperatingSystem: "Android",
			OSVersion: "15", OwnerType: "company", EnrollmentType: "androidEnterpriseCorporateWorkProfile", DeviceType: "androidEnterprise",
			LastSync: time.Now().Add(-time.Hour), Reset: graphtest.Plan{Passcode: "Kp4sW9qz", PendingReads: 2}})
	cfg := writeConfig(t, "devices: intune\nintune: {graph_url: '"+srv.URL+"', login_url: '"+srv.URL+"'}\n"+
		"reset: {poll_first: 10ms, poll_max: 50ms}\n")
	b := launch(t, cfg, "", graphEnv(srv)...)
	cmd, stdin, out, logs, say := b.cmd, b.stdin, b.out, b.logs, b.say
	i := 0
	say("reset")
	out.next(t, &i, regexp.MustCompile(`I found 2`))
	pixel := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Alice's Pixel 8 — Google Pixel 8 · Android 15`))
	say(pixel[1])
	demoSignIn(t, out, &i, "alice@contoso.example")
	reset := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Reset passcode$`))
	say(reset[1])
	out.next(t, &i, regexp.MustCompile(`^\s+Temporary passcode: Kp4sW9qz$`))
	out.next(t, &i, regexp.MustCompile(`Done: the passcode of Alice's Pixel 8 was reset successfully\.`))
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, logs.text())
	}
	c := srv.Counts()
	if c.Lists != 2 || c.Resets != 1 || c.Users != 0 {
		// two pages of one device each make one device list
		t.Errorf("Graph calls: %+v; want one device list (2 pages), one reset, no user lookup", c)
	}
	for _, secret := range append(srv.Tokens(), "Kp4sW9qz", srv.ClientSecret) {
		if strings.Contains(logs.text(), secret) {
			t.Errorf("a token, the client secret or the passcode is in the log")
		}
	}
}

func TestCheckSubcommand(t *testing.T) {
	srv := graphtest.New(graphtest.Options{})
	defer srv.Close()
	srv.AddUser(graphtest.User{ID: "u1", UPN: "alice@contoso.example"},
		graphtest.Device{ID: "d1", Name: "Alice's iPhone", OperatingSystem: "iOS", OSVersion: "18.1", DeviceType: "iPhone"})
	cfg := writeConfig(t, "devices: intune\nintune: {graph_url: '"+srv.URL+"', login_url: '"+srv.URL+"'}\n")
	cmd := exec.Command(binary, "check", "-config", cfg, "alice@contoso.example")
	cmd.Env = append(os.Environ(), graphEnv(srv)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("check: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "Alice's iPhone") {
		t.Errorf("check output lacks the device:\n%s", stdout.String())
	}
	if c := srv.Counts(); c.Resets != 0 {
		t.Errorf("check reset something")
	}
	// Missing credentials: exit 2 naming the variable.
	cmd = exec.Command(binary, "check", "-config", cfg, "alice@contoso.example")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr.Reset()
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "PASSCODEBOT_GRAPH_") {
		t.Errorf("check without credentials: %v %s", err, stderr.String())
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue reads one sample from a Prometheus text page; 0 when absent.
func metricValue(page, series string) float64 {
	for _, line := range strings.Split(page, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// TestAuditTrailAndMetrics: a full reset leaves its whole trail in the audit
// database, the audit subcommand shows it, and /metrics counters move.
func TestAuditTrailAndMetrics(t *testing.T) {
	dir := t.TempDir()
	admin := freeAddr(t)
	cfg := writeConfig(t, "fleet: {delay: 0s}\nreset: {poll_first: 10ms, poll_max: 50ms}\n"+
		"http: {admin_listen: '"+admin+"'}\naudit: {file: '"+filepath.Join(dir, "audit.db")+"'}\n")
	b := launch(t, cfg, dir)
	cmd, stdin, out, logs, say := b.cmd, b.stdin, b.out, b.logs, b.say
	i, j := 0, 0
	logs.next(t, &j, regexp.MustCompile(`passcodebot starting`))
	before := scrape(t, "http://"+admin+"/metrics")
	if h := scrape(t, "http://"+admin+"/healthz"); !strings.Contains(h, "ok") {
		t.Errorf("/healthz: %q", h)
	}
	if r := scrape(t, "http://"+admin+"/readyz"); !strings.Contains(r, "ready") {
		t.Errorf("/readyz: %q", r)
	}

	say("reset")
	pick := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Alice's Lumia 950`))
	say(pick[1])
	token := demoSignIn(t, out, &i, "alice@contoso.example")
	say(out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Reset passcode$`))[1])
	pass := out.next(t, &i, regexp.MustCompile(`Temporary passcode: (\S+)$`))[1]
	out.next(t, &i, regexp.MustCompile(`was reset successfully`))

	after := scrape(t, "http://"+admin+"/metrics")
	for _, series := range []string{
		`passcodebot_resets_total{platform="shell",result="done"}`,
		`passcodebot_reauth_total{outcome="ok"}`,
		`passcodebot_conversation_steps_total{outcome="",step="confirm"}`,
		`passcodebot_backend_call_seconds_count{op="reset_passcode"}`,
	} {
		if metricValue(after, series) != metricValue(before, series)+1 {
			t.Errorf("%s: %v before, %v after; want one more", series, metricValue(before, series), metricValue(after, series))
		}
	}
	if strings.Contains(after, pass) {
		t.Errorf("the passcode is in /metrics")
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) string {
		c := exec.Command(binary, append([]string{"audit", "-config", cfg}, args...)...)
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		if err := c.Run(); err != nil {
			t.Fatalf("audit %v: %v %s", args, err, e.String())
		}
		return o.String()
	}
	trail := run("-user", "alice@contoso.example", "-format", "csv")
	var steps []string
	for _, line := range strings.Split(strings.TrimSpace(trail), "\n")[1:] {
		f := strings.Split(line, ",")
		steps = append(steps, f[2]+"/"+f[3])
	}
	want := []string{"request/", "devices_listed/3", "eligibility/allow", "link_issued/", "signin/ok", "confirm/", "reset_requested/sent", "result/done", "delivery/sent"}
	if strings.Join(steps, " ") != strings.Join(want, " ") {
		t.Errorf("audit trail steps:\n got %v\nwant %v", steps, want)
	}
	if !strings.Contains(trail, "signed_in_as=alice@contoso.example auth_time=") || !strings.Contains(trail, "dev-alice-lumia") {
		t.Errorf("the trail lacks who signed in, when, or the device:\n%s", trail)
	}
	if strings.Contains(trail, pass) || strings.Contains(trail, token) {
		t.Errorf("the passcode or the sign-in token is in the audit trail")
	}
	if got := run("-outcome", "done", "-format", "jsonl"); strings.Count(got, "\n") != 1 || !strings.Contains(got, `"step":"result"`) {
		t.Errorf("jsonl filtered by outcome: %q", got)
	}
	if got := run("-user", "bob@contoso.example"); strings.Count(got, "\n") != 1 {
		t.Errorf("bob has no events, got:\n%s", got)
	}
	if got := run("-since", "1h", "-format", "table"); !strings.Contains(got, "TIME") || !strings.Contains(got, "reset_requested") {
		t.Errorf("table: %s", got)
	}
}

// TestRestartBetweenConfirmAndResult kills the bot after Intune accepted the
// reset and before the result: the restarted bot never asks again, reads the
// result and tells the person.
func TestRestartBetweenConfirmAndResult(t *testing.T) {
	gclk := clock.NewFake(time.Now())
	srv := graphtest.New(graphtest.Options{Clock: gclk})
	defer srv.Close()
	srv.AddUser(graphtest.User{ID: "a11ce000-0000-4000-8000-000000000001", UPN: "alice@contoso.example"},
		graphtest.Device{ID: "dev-pixel", Name: "Alice's Pixel 8", Model: "Pixel 8", Manufacturer: "Google", OperatingSystem: "Android",
			OSVersion: "15", OwnerType: "company", EnrollmentType: "androidEnterpriseCorporateWorkProfile", DeviceType: "androidEnterprise",
			Reset: graphtest.Plan{Passcode: "Rz8mQ2vn", After: time.Minute}})
	dir := t.TempDir()
	// The fake Graph's clock stands still from here until the test moves it, so the
	// reset's startDateTime lies before the bot's request by the test's own time.
	cfg := writeConfig(t, "devices: intune\nintune: {graph_url: '"+srv.URL+"', login_url: '"+srv.URL+"'}\n"+
		"reset: {poll_first: 10ms, poll_max: 50ms, graph_skew: 1m}\naudit: {file: '"+filepath.Join(dir, "audit.db")+"'}\n")
	start := func() (*exec.Cmd, io.WriteCloser, *lines) {
		b := launch(t, cfg, dir, graphEnv(srv)...)
		return b.cmd, b.stdin, b.out
	}
	a, stdin, out := start()
	defer a.Process.Kill()
	i := 0
	io.WriteString(stdin, "reset\n")
	io.WriteString(stdin, out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Alice's Pixel 8`))[1]+"\n")
	demoSignIn(t, out, &i, "alice@contoso.example")
	io.WriteString(stdin, out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Reset passcode$`))[1]+"\n")
	out.next(t, &i, regexp.MustCompile(`Resetting the passcode`))
	for srv.ResetsAccepted("dev-pixel") == 0 || srv.Counts().Results == 0 {
		runtime.Gosched()
	}
	a.Process.Kill() // a crash, not a shutdown
	a.Wait()

	b, stdin2, out2 := start()
	defer b.Process.Kill()
	defer stdin2.Close()
	reads := srv.Counts().Results
	for srv.Counts().Results == reads { // the restarted bot is polling again
		runtime.Gosched()
	}
	gclk.Advance(2 * time.Minute) // Intune finishes the reset
	k := 0
	out2.next(t, &k, regexp.MustCompile(`^\s+Temporary passcode: Rz8mQ2vn$`))
	out2.next(t, &k, regexp.MustCompile(`Done: the passcode of Alice's Pixel 8 was reset successfully`))
	if n := srv.Counts().Resets; n != 1 {
		t.Fatalf("%d reset requests across the restart, want 1", n)
	}
	stdin2.Close()
	b.Wait()
	c := exec.Command(binary, "audit", "-config", cfg, "-step", "result", "-format", "csv")
	got, err := c.Output()
	if err != nil || !strings.Contains(string(got), ",result,done,") {
		t.Errorf("the result is not in the audit trail: %s %v", got, err)
	}
}

// intuneBot starts the bot against a fake Graph with alice's Pixel, and takes
// the conversation up to the click on "Reset passcode".
func intuneBot(t *testing.T, srv *graphtest.Server, intuneExtra string) (*exec.Cmd, io.WriteCloser, *lines, *lines, *int) {
	t.Helper()
	dir := t.TempDir()
	cfg := writeConfig(t, "devices: intune\nintune: {graph_url: '"+srv.URL+"', login_url: '"+srv.URL+"', max_backoff: 2s"+intuneExtra+"}\n"+
		"reset: {poll_first: 10ms, poll_max: 50ms}\naudit: {file: '"+filepath.Join(dir, "audit.db")+"'}\n")
	b := launch(t, cfg, dir, graphEnv(srv)...)
	cmd, stdin, out, logs := b.cmd, b.stdin, b.out, b.logs
	i := new(int)
	io.WriteString(stdin, "reset\n")
	io.WriteString(stdin, out.next(t, i, regexp.MustCompile(`^\s+\[(\d)\] Alice's Pixel 8`))[1]+"\n")
	demoSignIn(t, out, i, "alice@contoso.example")
	io.WriteString(stdin, out.next(t, i, regexp.MustCompile(`^\s+\[(\d)\] Reset passcode$`))[1]+"\n")
	return cmd, stdin, out, logs, i
}

func alicePixel(plan graphtest.Plan) (graphtest.User, graphtest.Device) {
	return graphtest.User{ID: "a11ce000-0000-4000-8000-000000000001", UPN: "alice@contoso.example"},
		graphtest.Device{ID: "dev-pixel", Name: "Alice's Pixel 8", Model: "Pixel 8", Manufacturer: "Google", OperatingSystem: "Android",
			OSVersion: "15", OwnerType: "company", EnrollmentType: "androidEnterpriseCorporateWorkProfile", DeviceType: "androidEnterprise", Reset: plan}
}

// TestGraphFaultsEndToEnd: Graph stalls after accepting the reset, or answers a
// storm of 429s: never two resets, the person always gets a final message, the
// audit trail has the outcome, and the helpdesk hears of a refusal.
func TestGraphFaultsEndToEnd(t *testing.T) {
	t.Run("timeout after the reset was accepted", func(t *testing.T) {
		srv := graphtest.New(graphtest.Options{})
		defer srv.Close()
		u, d := alicePixel(graphtest.Plan{Passcode: "Hq3nX7wp", PendingReads: 1})
		srv.AddUser(u, d)
		srv.Fail(graphtest.RouteReset, graphtest.StallAfterAccept())
		_, stdin, out, _, i := intuneBot(t, srv, ", request_timeout: 1s")
		defer stdin.Close()
		out.next(t, i, regexp.MustCompile(`Temporary passcode: Hq3nX7wp$`))
		out.next(t, i, regexp.MustCompile(`was reset successfully`))
		if n := srv.Counts().Resets; n != 1 {
			t.Fatalf("%d reset requests, want 1", n)
		}
	})
	t.Run("429 storm on the reset", func(t *testing.T) {
		srv := graphtest.New(graphtest.Options{})
		defer srv.Close()
		u, d := alicePixel(graphtest.Plan{})
		srv.AddUser(u, d)
		var storm []graphtest.Fault
		for range 20 {
			storm = append(storm, graphtest.Throttle("0"))
		}
		srv.Fail(graphtest.RouteReset, storm...)
		_, stdin, out, _, i := intuneBot(t, srv, "")
		defer stdin.Close()
		k := *i // the alert and the reply come on their own paths, in either order
		out.next(t, i, regexp.MustCompile(`The device service is busy or unreachable right now`))
		alert := out.next(t, &k, regexp.MustCompile(`^\[helpdesk\] Passcode reset: device service error .*Alice's Pixel 8.*throttled`))
		if strings.Contains(alert[0], "Bearer") {
			t.Errorf("alert carries a token: %s", alert[0])
		}
		if c := srv.Counts(); c.ResetsAccepted != 0 || c.Resets > 4 {
			t.Errorf("Graph calls %+v: want at most 4 bounded attempts, none accepted", c)
		}
	})
}

// TestAdminUnlink: an administrator removes a Discord account's link from the
// durable store, and the removal is in the audit trail.
func TestAdminUnlink(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "audit.db")
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.SetLink(context.Background(), "discord", "123456789012345678", resetflow.User{ID: "u1", UPN: "alice@contoso.example"})
	db.Close()
	cfg := writeConfig(t, "audit: {file: '"+dbPath+"'}\n")
	out, err := exec.Command(binary, "unlink", "-config", cfg, "123456789012345678").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no longer linked") {
		t.Fatalf("unlink: %v %s", err, out)
	}
	db, _ = sqlite.Open(context.Background(), dbPath)
	defer db.Close()
	if _, ok, _ := db.LinkedUser(context.Background(), "discord", "123456789012345678"); ok {
		t.Errorf("still linked")
	}
	if ev, _ := db.Events(context.Background(), sqlite.Filter{Step: "unlink"}); len(ev) != 1 {
		t.Errorf("audit events %+v", ev)
	}
	out, _ = exec.Command(binary, "unlink", "-config", cfg, "123456789012345678").CombinedOutput()
	if !strings.Contains(string(out), "was not linked") {
		t.Errorf("second unlink: %s", out)
	}
}
