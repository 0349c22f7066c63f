package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/cmd/passcodebot/app"
	"github.com/passcodebot/passcodebot/sqlite"
)

// watchedLog is the program's stderr: tests wait for a line without sleeping.
type watchedLog struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newWatchedLog() *watchedLog { return &watchedLog{changed: make(chan struct{})} }

func (w *watchedLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *watchedLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// wait returns the first submatch of re once the log has it.
func (w *watchedLog) wait(ctx context.Context, re *regexp.Regexp) (string, bool) {
	for {
		w.mu.Lock()
		m := re.FindStringSubmatch(w.b.String())
		ch := w.changed
		w.mu.Unlock()
		if m != nil {
			return m[len(m)-1], true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", false
		}
	}
}

var publicURL = regexp.MustCompile(`passcodebot starting.* public_url=(\S+)`)

// program runs the whole program in-process against fs, with a config file.
type program struct {
	*env
	stderr *watchedLog
	code   chan int
	stop   context.CancelFunc
}

func runProgram(t testing.TB, fs *slacktest.Server, mode string, environ map[string]string) *program {
	t.Helper()
	return runProgramAt(t, fs, mode, environ, filepath.Join(t.TempDir(), "audit.db"))
}

// runProgramAt is runProgram with the program's database at dbPath.
func runProgramAt(t testing.TB, fs *slacktest.Server, mode string, environ map[string]string, dbPath string) *program {
	t.Helper()
	cfg := `chat: [slack]
reauth: local
insecure_demo_signin_with_real_chat: true
timezone: UTC
http: {listen: "127.0.0.1:0"}
log: {level: debug}
reset: {poll_first: 10ms, poll_max: 50ms}
fleet: {delay: 0s}
slack:
  mode: ` + mode + `
  api_url: ` + fs.APIURL() + `
  helpdesk_channel: ` + helpdesk + `
  email_domain_rewrite: {"@corp.example": "@contoso.example"}
`
	path := filepath.Join(t.TempDir(), "passcodebot.yaml")
	cfg += "\naudit: {file: '" + dbPath + "'}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancelWaits := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancelWaits)
	runCtx, stop := context.WithCancel(context.Background())
	p := &program{stderr: newWatchedLog(), code: make(chan int, 1), stop: stop}
	go func() {
		p.code <- app.Main(runCtx, []string{"-config", path}, strings.NewReader(""), &strings.Builder{}, p.stderr, func(k string) string { return environ[k] })
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-p.code:
		case <-time.After(waitTimeout):
			t.Error("the program did not stop")
		}
		if t.Failed() {
			t.Logf("program log:\n%s", p.stderr.String())
		}
	})
	base, ok := p.stderr.wait(ctx, publicURL)
	if !ok {
		t.Fatalf("the program did not start:\n%s", p.stderr.String())
	}
	p.env = &env{Driver: &slacktest.Driver{T: t, Ctx: ctx, FS: fs, Base: base}, t: t, ctx: ctx, fs: fs, cat: catalog.MustNew("en"), base: base}
	return p
}

func newFake(t testing.TB) *slacktest.Server {
	fs := slacktest.New(slacktest.Options{})
	t.Cleanup(fs.Close)
	fs.AddUser(slacktest.User{ID: alice, Name: "alice", Email: "alice@contoso.example", Locale: "en-US"})
	fs.AddUser(slacktest.User{ID: bob, Name: "bob", Email: "bob@corp.example", Locale: "ja-JP"})
	fs.AddChannel(slacktest.Channel{ID: helpdesk, Name: "helpdesk"})
	return fs
}

func TestProgramResetsOverSocketMode(t *testing.T) {
	fs := newFake(t)
	p := runProgram(t, fs, "socket", map[string]string{
		"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken,
	})
	if err := fs.WaitConnections(p.ctx, 1); err != nil {
		t.Fatal(err)
	}
	warning := p.resetUntilWarning(nil)
	p.confirm(warning)
	im := slacktest.IM(alice)
	pass := p.WaitMessage(im, "passcode", slacktest.HasBlock("pcb_secret"))
	code := slacktest.PasscodeOf(t, pass)
	p.WaitMessage(im, "success", slacktest.HasText("Done: the passcode of Alice's Pixel 8 was reset successfully."))

	res, err := http.Get(p.base + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("healthz: %v %v", res.Status, err)
	}
	p.stop()
	if got := <-p.code; got != app.ExitOK {
		t.Errorf("exit code %d", got)
	}
	p.code <- 0 // for the cleanup
	log := p.stderr.String()
	for _, s := range []string{code, fs.BotToken, fs.AppToken} {
		if strings.Contains(log, s) {
			t.Errorf("the log holds a secret (%d chars)", len(s))
		}
	}
}

func TestProgramTakesEventsOverHTTP(t *testing.T) {
	fs := newFake(t)
	p := runProgram(t, fs, "http", map[string]string{
		"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_SIGNING_SECRET": secret,
	})
	if res, _ := p.DeliverHTTP(fs.DM(bob, "リセット"), "wrong", time.Now()); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad signature: %s", res.Status)
	}
	if res, body := p.DeliverHTTP(fs.DM(bob, "リセット"), secret, time.Now()); res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s", res.Status, body)
	}
	// bob@corp.example is bob@contoso.example in the directory; he writes Japanese.
	list := p.WaitMessage(slacktest.IM(bob), "device list", slacktest.HasAction("pcb_choice_0"))
	if !strings.Contains(list.Texts(), "Bob's Galaxy S9") || !strings.Contains(list.Texts(), "4 台見つかりました") {
		t.Errorf("device list: %q", list.Texts())
	}
	if n := len(fs.CallsWhere(slacktest.Method("chat.postMessage"))); n != 1 {
		t.Errorf("%d posts, want 1 (the refused request must change nothing)", n)
	}
}

func TestProgramRefusesMissingSlackSecrets(t *testing.T) {
	fs := newFake(t)
	for _, tc := range []struct {
		name, mode string
		env        map[string]string
		want       string
	}{
		{"no bot token", "socket", map[string]string{"PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken}, "PASSCODEBOT_SLACK_BOT_TOKEN"},
		{"no app token", "socket", map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken}, "PASSCODEBOT_SLACK_APP_TOKEN"},
		{"tokens swapped", "socket", map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.AppToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.BotToken}, "PASSCODEBOT_SLACK_BOT_TOKEN: not a bot token"},
		{"no signing secret", "http", map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken}, "PASSCODEBOT_SLACK_SIGNING_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			cfg := "chat: [slack]\nreauth: local\ninsecure_demo_signin_with_real_chat: true\nhttp: {listen: \"127.0.0.1:0\"}\nslack: {mode: " + tc.mode + ", helpdesk_channel: C0HELP, api_url: " + fs.APIURL() + "}\n"
			os.WriteFile(path, []byte(cfg), 0o600)
			var stderr strings.Builder
			code := app.Main(context.Background(), []string{"-config", path}, strings.NewReader(""), &strings.Builder{}, &stderr, func(k string) string { return tc.env[k] })
			if code != app.ExitConfig || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d naming %s", code, stderr.String(), app.ExitConfig, tc.want)
			}
			if strings.Contains(stderr.String(), fs.BotToken) || strings.Contains(stderr.String(), fs.AppToken) {
				t.Error("a token is in the message")
			}
		})
	}
	t.Run("no helpdesk channel", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, []byte("chat: [slack]\nreauth: local\ninsecure_demo_signin_with_real_chat: true\n"), 0o600)
		var stderr strings.Builder
		code := app.Main(context.Background(), []string{"-config", path}, strings.NewReader(""), &strings.Builder{}, &stderr, func(string) string { return "" })
		if code != app.ExitConfig || !strings.Contains(stderr.String(), "slack.helpdesk_channel") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	})
}

func TestProgramStopsOnARefusedToken(t *testing.T) {
	fs := newFake(t)
	fs.SetAuthError("invalid_auth")
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("chat: [slack]\nreauth: local\ninsecure_demo_signin_with_real_chat: true\nhttp: {listen: \"127.0.0.1:0\"}\nslack: {helpdesk_channel: C0HELP, api_url: "+fs.APIURL()+"}\naudit: {file: '"+filepath.Join(t.TempDir(), "audit.db")+"'}\n"), 0o600)
	stderr := newWatchedLog()
	environ := map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken}
	done := make(chan int, 1)
	go func() {
		done <- app.Main(context.Background(), []string{"-config", path}, strings.NewReader(""), &strings.Builder{}, stderr, func(k string) string { return environ[k] })
	}()
	select {
	case code := <-done:
		if code != app.ExitFail || !strings.Contains(stderr.String(), "invalid_auth") {
			t.Errorf("exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(waitTimeout):
		t.Fatal("the program kept running with a refused token")
	}
}

// TestProgramRemovesPasscodesLeftByACrash: a passcode message that a crashed run
// left on screen (still in the database's ledger) is removed by the next run,
// at once when overdue, and forgotten once removed.
func TestProgramRemovesPasscodesLeftByACrash(t *testing.T) {
	fs := newFake(t)
	dbPath := filepath.Join(t.TempDir(), "audit.db")
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	left := sqlite.ShownSecret{Platform: "slack", Channel: slacktest.IM(alice), MessageID: "1700000000.000100", Locale: "en", RemoveAt: time.Now().Add(-time.Minute)}
	if err := db.SecretShown(context.Background(), left); err != nil {
		t.Fatal(err)
	}
	db.Close()
	p := runProgramAt(t, fs, "socket", map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken}, dbPath)
	if _, err := fs.WaitCall(p.ctx, func(c slacktest.Call) bool { return c.Method == "chat.update" && c.Channel == left.Channel }); err != nil {
		t.Fatalf("the left-over passcode message was not edited: %v", err)
	}
	db, err = sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	app.WaitNoSecretsShown(t, db, "slack")
	p.stop()
	p.code <- <-p.code // stopped; the cleanup reads the exit code again
	if still, err := db.SecretsShown(context.Background(), "slack"); err != nil || len(still) != 0 {
		t.Errorf("still in the ledger after the removal: %+v, %v", still, err)
	}
}
