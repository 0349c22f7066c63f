package main_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/intune/graphtest"
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
	cmd := exec.Command(binary, "-config", cfg, "-listen", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out, logs := collect(stdout), collect(stderr)
	defer cmd.Process.Kill()
	say := func(s string) { io.WriteString(stdin, s+"\n") }
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
	cmd := exec.Command(binary, "-config", cfg, "-listen", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PASSCODEBOT_GRAPH_TENANT_ID="+srv.TenantID, "PASSCODEBOT_GRAPH_CLIENT_ID="+srv.ClientID,
		"PASSCODEBOT_GRAPH_CLIENT_SECRET="+srv.ClientSecret)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out, logs := collect(stdout), collect(stderr)
	defer cmd.Process.Kill()
	say := func(s string) { io.WriteString(stdin, s+"\n") }
	i := 0
	say("reset")
	out.next(t, &i, regexp.MustCompile(`I found 2`))
	pixel := out.next(t, &i, regexp.MustCompile(`^\s+\[(\d)\] Alice's Pixel 8 — Google Pixel 8 · Android 15`))
	say(pixel[1])
	link := out.next(t, &i, regexp.MustCompile(`Open this link in a browser: (http://\S+/r/(\S+))`))
	base := link[1][:strings.Index(link[1], "/r/")]
	resp, err := http.PostForm(base+"/local/signin", url.Values{"token": {link[2]}, "choice": {"alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
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
	cmd.Env = append(os.Environ(), "PASSCODEBOT_GRAPH_TENANT_ID="+srv.TenantID, "PASSCODEBOT_GRAPH_CLIENT_ID="+srv.ClientID,
		"PASSCODEBOT_GRAPH_CLIENT_SECRET="+srv.ClientSecret)
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
