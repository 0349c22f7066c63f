package passcodebot

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/passcodebot/passcodebot"

// imports lists, per package directory, what its Go files import: the
// package's own files (tests false) or its test files (tests true).
func imports(t *testing.T, tests bool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") != tests {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[dir] = append(out[dir], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDependencyDirection enforces the shape of docs/architecture.md: arrows
// point inward. The engine imports no adapter, SDK or network package; adapters
// never import each other or the runtime; only the command imports the wiring;
// internal/ is the ground floor. Test files obey the same rules, with one
// allowance: an adapter's tests may run it inside the runtime (bot).
func TestDependencyDirection(t *testing.T) {
	for _, tests := range []bool{false, true} {
		all := imports(t, tests)
		if len(all) < 10 {
			t.Fatalf("found only %d packages (test files: %v): the walk is broken", len(all), tests)
		}
		engineMay := map[string]bool{module + "/catalog": true, module + "/internal/clock": true, "github.com/patrickmn/go-cache": true}
		for _, p := range all["resetflow"] {
			if !tests && (strings.Contains(p, ".") && !engineMay[p] || p == "net/http" || p == "net" || p == "database/sql") {
				t.Errorf("resetflow imports %s", p)
			}
		}
		for dir, ims := range all {
			for _, p := range ims {
				if !strings.HasPrefix(p, module+"/") {
					continue
				}
				if why := upward(dir, strings.TrimPrefix(p, module+"/"), tests); why != "" {
					t.Errorf("%s: %s", dir, why)
				}
			}
		}
	}
}

// wiring is the configuration and wiring, which only the command imports.
func wiring(pkg string) bool { return pkg == "internal/app" || pkg == "internal/config" }

// upward says why the package in dir may not import the module's package
// inner ("" when it may); tests says the import is in a test file.
func upward(dir, inner string, tests bool) string {
	under := func(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
	switch {
	case inner == dir:
		return ""
	case under(inner, "cmd"):
		return "imports the command " + inner
	case wiring(inner) && !wiring(dir) && dir != "cmd/passcodebot":
		return "imports the wiring " + inner + " (whole-program tests live with the wiring)"
	case under(dir, "adapters") && inner == "bot" && !tests:
		return "the adapter imports the runtime"
	case under(dir, "adapters") && under(inner, "adapters") && !under(inner, adapterOf(dir)):
		return "the adapter imports another adapter, " + inner
	case dir == "bot" && under(inner, "adapters"):
		return "the runtime imports the adapter " + inner
	case under(dir, "internal") && !wiring(dir) && !tests && !under(inner, "internal"):
		return "the ground floor imports " + inner
	}
	return ""
}

// adapterOf is the adapter a folder under adapters/ belongs to: adapters/slack
// for adapters/slack/slacktest.
func adapterOf(dir string) string {
	parts := strings.SplitN(dir, "/", 3)
	if len(parts) < 2 {
		return dir
	}
	return parts[0] + "/" + parts[1]
}

// TestUpwardImportsAreCaught proves the rules bite, test files included.
func TestUpwardImportsAreCaught(t *testing.T) {
	for _, c := range []struct {
		dir, inner string
		tests, bad bool
	}{
		{"adapters/slack", "internal/app", true, true}, // a whole-program test beside the adapter
		{"adapters/slack", "internal/app", false, true},
		{"internal/app", "adapters/slack/slacktest", true, false},
		{"cmd/passcodebot", "internal/app", true, false},
		{"resetflow", "internal/config", true, true},
		{"bot", "cmd/passcodebot", true, true},
		{"adapters/discord", "adapters/slack/slacktest", true, true},
		{"adapters/slack", "adapters/slack/slacktest", true, false},
		{"adapters/slack/slacktest", "adapters/slack", false, false},
		{"adapters/slack", "bot", false, true},
		{"adapters/slack", "bot", true, false},
		{"bot", "adapters/shell", true, true},
		{"internal/keyqueue", "resetflow", false, true},
		{"internal/keyqueue", "internal/clock", false, false},
	} {
		if got := upward(c.dir, c.inner, c.tests) != ""; got != c.bad {
			t.Errorf("upward(%q, %q, tests=%v) refuses = %v; want %v", c.dir, c.inner, c.tests, got, c.bad)
		}
	}
}
