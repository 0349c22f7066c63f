package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := Main(ctx, args, strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

// TestCLI drives the command line through Main: help, version, unknown
// subcommands and each usage printed exactly once.
func TestCLI(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-help"}, {"-h"}, {"help"}} {
		code, out, _ := runMain(t, args...)
		if code != ExitOK {
			t.Errorf("%v: exit %d; want 0", args, code)
		}
		for _, sub := range []string{"check", "audit", "unlink", "version", "[run]"} {
			if !strings.Contains(out, "passcodebot "+sub) {
				t.Errorf("%v: help does not list %s:\n%s", args, sub, out)
			}
		}
	}
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		code, out, _ := runMain(t, args...)
		if code != ExitOK || !strings.HasPrefix(out, "passcodebot ") || !strings.Contains(out, "go1.") {
			t.Errorf("%v: exit %d, %q; want the version and Go version from the build info", args, code, out)
		}
	}
	t.Run("unknown subcommand", func(t *testing.T) {
		code, out, errOut := runMain(t, "chek", "alice@contoso.example")
		if code != ExitConfig {
			t.Errorf("exit %d; want 2", code)
		}
		if !strings.Contains(errOut, `unknown subcommand "chek"`) || out != "" {
			t.Errorf("stderr %q stdout %q", errOut, out)
		}
		if n := strings.Count(errOut, "Usage:"); n != 1 {
			t.Errorf("usage printed %d times", n)
		}
	})
	t.Run("a stray argument to run", func(t *testing.T) {
		code, _, errOut := runMain(t, "run", "extra")
		if code != ExitConfig || strings.Count(errOut, "Usage:") != 1 {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("subcommand help exits 0 with its usage once", func(t *testing.T) {
		for _, sub := range []string{"check", "audit", "unlink", "run"} {
			code, _, errOut := runMain(t, sub, "-help")
			if code != ExitOK {
				t.Errorf("%s -help: exit %d", sub, code)
			}
			if n := strings.Count(errOut, "-config string"); n != 1 {
				t.Errorf("%s -help: -config listed %d times:\n%s", sub, n, errOut)
			}
		}
	})
	t.Run("subcommand usage once on a wrong argument count", func(t *testing.T) {
		for _, args := range [][]string{{"check"}, {"unlink"}, {"check", "-bogus", "x"}} {
			code, _, errOut := runMain(t, args...)
			if code != ExitConfig {
				t.Errorf("%v: exit %d; want 2", args, code)
			}
			if n := strings.Count(errOut, "usage: passcodebot"); n != 1 {
				t.Errorf("%v: usage printed %d times:\n%s", args, n, errOut)
			}
		}
	})
}

// TestCheckOnTheEmbeddedDefault: check lists a demo user's devices and what the rules decide.
func TestCheckOnTheEmbeddedDefault(t *testing.T) {
	code, out, errOut := runMain(t, "check", "dave@contoso.example")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"devices: fleet (embedded demo)",
		"Dave's Surface Pro", "not_supported by rule windows-and-macos",
		"Dave's Quest 3", "allow (android_temporary) by rule aosp",
		"Dave's iPhone SE", "contact_support by rule ios-personal",
		"User Enrollment", "not_supported by rule ios-user-enrollment",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runMain(t, "check", "nobody@contoso.example"); code != ExitFail || !strings.Contains(errOut, "nobody@contoso.example") {
		t.Errorf("unknown user: exit %d, %q", code, errOut)
	}
}

// TestConfigErrorsThroughMain: every problem of a file is printed, each with its key, exit 2.
func TestConfigErrorsThroughMain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("reset:\n  window: soon\nlog: {levle: info}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMain(t, "-config", path)
	if code != ExitConfig {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"2 problems", `reset.window: "soon" is not a duration`, "log.levle: unknown key"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestShellOnATerminal: in a terminal the logs go to a file (said at start), the
// chat prompts "you>", and -locale ja speaks Japanese from the welcome on.
func TestShellOnATerminal(t *testing.T) {
	old := isTerminal
	isTerminal = func(any) bool { return true }
	defer func() { isTerminal = old }()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	cfg := "audit: {file: '" + filepath.Join(dir, "a.db") + "'}\nhttp: {listen: '127.0.0.1:0'}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"-config", path, "-locale", "ja"}, strings.NewReader("exit\n"), &out, &errOut, func(string) string { return "" })
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	logFile := filepath.Join(dir, "passcodebot.log")
	logs, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(logs), "passcodebot starting") {
		t.Errorf("log file %s: %v %q", logFile, err, logs)
	}
	s := out.String()
	if strings.Contains(s, "level=") || strings.Contains(errOut.String(), "level=") {
		t.Errorf("log lines in the terminal:\nstdout %q\nstderr %q", s, errOut.String())
	}
	for _, want := range []string{"ターミナル チャット", logFile, "you> "} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal lacks %q:\n%s", want, s)
		}
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if old(null) {
		t.Errorf("the null device (what a daemon's stdout often is) counts as a terminal")
	}
	if code, _, errOut := runMain(t, "-locale", "fr"); code != ExitConfig || !strings.Contains(errOut, "-locale") {
		t.Errorf("-locale fr: %d %q", code, errOut)
	}
}
