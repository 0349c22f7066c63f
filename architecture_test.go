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

// imports lists, per package directory, what its non-test Go files import.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
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

// TestDependencyDirection enforces the shape of architecture.md: arrows point
// inward. The engine imports no adapter, SDK or network package; adapters never
// import each other or the runtime; only the command imports the wiring.
func TestDependencyDirection(t *testing.T) {
	all := imports(t)
	if len(all) < 10 {
		t.Fatalf("found only %d packages: the walk is broken", len(all))
	}
	engineMay := map[string]bool{module + "/catalog": true, module + "/internal/clock": true, "github.com/patrickmn/go-cache": true}
	for _, p := range all["resetflow"] {
		if strings.Contains(p, ".") && !engineMay[p] || p == "net/http" || p == "net" || p == "database/sql" {
			t.Errorf("resetflow imports %s", p)
		}
	}
	for dir, ims := range all {
		for _, p := range ims {
			if !strings.HasPrefix(p, module+"/") {
				continue
			}
			inner := strings.TrimPrefix(p, module+"/")
			switch {
			case strings.HasPrefix(inner, "cmd/"):
				t.Errorf("%s imports the command %s", dir, p)
			case inner == "internal/app" && dir != "cmd/passcodebot":
				t.Errorf("%s imports the wiring (internal/app)", dir)
			case strings.HasPrefix(dir, "adapters/") && (inner == "bot" || strings.HasPrefix(inner, "adapters/") && !strings.HasPrefix(inner, dir)):
				t.Errorf("adapter %s imports %s", dir, p)
			case dir == "bot" && strings.HasPrefix(inner, "adapters/"):
				t.Errorf("the runtime imports the adapter %s", p)
			}
		}
	}
}
