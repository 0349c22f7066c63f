// Package deploy holds the files to run the bot in production; its tests
// check them with what can run here: the Dockerfile's build command is run
// as written (a static, version-stamped binary), and the systemd unit goes
// through systemd-analyze verify and security when systemd-analyze exists.
package deploy

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

type stage struct {
	from  string
	lines []string
}

func dockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, stage{from: strings.Fields(line)[1]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("instruction before FROM: %s", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	return stages
}

var buildLine = regexp.MustCompile(`^RUN (CGO_ENABLED=0 go build .*) -o (\S+) (\./cmd/passcodebot)$`)

// TestDockerfile checks the image's shape and runs its build command: the
// binary is static (no interpreter, no shared libraries) and says its version.
func TestDockerfile(t *testing.T) {
	stages := dockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	// The build image has the toolchain go.mod asks for (else it would fetch
	// one): its toolchain line, or without one its go line.
	gomod := string(mustRead(t, "../go.mod"))
	m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindStringSubmatch(gomod)
	if m == nil {
		m = regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(gomod)
	}
	if m == nil {
		t.Fatal("go.mod names no Go version")
	}
	if stages[0].from != "golang:"+m[1]+"-bookworm" {
		t.Errorf("build stage FROM %s, but go.mod asks for go%s", stages[0].from, m[1])
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final base %s has more than the binary needs (no shell wanted)", final.from)
	}
	var user string
	for _, l := range final.lines {
		if strings.HasPrefix(l, "USER ") {
			user = strings.Fields(l)[1]
		}
		if strings.HasPrefix(l, "RUN ") {
			t.Errorf("the final stage runs %q: it has no shell", l)
		}
	}
	uid, err := strconv.Atoi(strings.Split(user, ":")[0])
	if err != nil || uid == 0 {
		t.Errorf("USER %q: want a numeric non-root user", user)
	}
	var cmd []string
	for _, l := range stages[0].lines {
		if m := buildLine.FindStringSubmatch(l); m != nil {
			cmd = []string{m[1], m[3]}
		}
	}
	if cmd == nil {
		t.Fatal("no `RUN CGO_ENABLED=0 go build ... -o ... ./cmd/passcodebot` in the build stage")
	}
	if !strings.Contains(cmd[0], "-trimpath") {
		t.Error("the build is not -trimpath")
	}
	if testing.Short() {
		t.Skip("-short: not building")
	}
	bin := filepath.Join(t.TempDir(), "passcodebot")
	script := strings.ReplaceAll(cmd[0], "${VERSION}", "9.8.7-test") + " -o " + bin + " " + cmd[1]
	build := exec.Command("sh", "-c", script)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "passcodebot 9.8.7-test" {
		t.Errorf("version: %q %v; the -X path does not stamp app.Version", out, err)
	}
	if strings.Contains(string(mustRead(t, bin)), "/work/") {
		t.Error("the binary holds build paths (-trimpath)")
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var exposure = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// TestSystemdUnit runs systemd-analyze verify and security on the unit (with
// ExecStart pointed at an executable, as verify requires).
func TestSystemdUnit(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("PASSCODEBOT_REQUIRE_SYSTEMD") == "1" {
			t.Fatal("systemd-analyze is not installed")
		}
		fmt.Fprintln(os.Stderr, "*** systemd unit NOT CHECKED: no systemd-analyze ***")
		t.Skip("no systemd-analyze")
	}
	unit := string(mustRead(t, "systemd/passcodebot.service"))
	dir := t.TempDir()
	exe := filepath.Join(dir, "passcodebot")
	if err := os.WriteFile(exe, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit = strings.ReplaceAll(unit, "/usr/local/bin/passcodebot", exe)
	path := filepath.Join(dir, "passcodebot.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", path).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(sa, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposure.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", level)
	if level > 2.0 {
		t.Errorf("exposure %.1f, want at most 2.0 (OK):\n%s", level, out)
	}
}
