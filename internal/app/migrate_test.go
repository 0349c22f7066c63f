package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
)

func runMigrate(t *testing.T, cfg string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := Main(context.Background(), append([]string{"migrate", "-config", cfg}, args...), strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestMigrateSubcommand(t *testing.T) {
	pg := pgtest.Start(t)
	for _, tc := range []struct {
		store string
		env   map[string]string
	}{
		{"sqlite", nil},
		{"postgres", map[string]string{postgres.EnvURL: pg.NewDatabase(t)}},
	} {
		t.Run(tc.store, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "c.yaml")
			body := "store: " + tc.store + "\naudit: {file: '" + filepath.Join(dir, "a.db") + "'}\n"
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runMigrate(t, cfg, tc.env, "-check")
			if code != ExitOK || !strings.Contains(out, tc.store+": would apply 0001_init") {
				t.Fatalf("-check: %d %q %q", code, out, errOut)
			}
			if code, out, _ := runMigrate(t, cfg, tc.env, "-check"); code != ExitOK || !strings.Contains(out, "would apply 0001_init") {
				t.Fatalf("-check changed the schema: %q", out)
			}
			if code, out, errOut := runMigrate(t, cfg, tc.env); code != ExitOK || !strings.Contains(out, tc.store+": applied 0001_init") {
				t.Fatalf("migrate: %d %q %q", code, out, errOut)
			}
			if code, out, _ := runMigrate(t, cfg, tc.env, "-check"); code != ExitOK || out != tc.store+": the schema is up to date\n" {
				t.Fatalf("-check after migrate: %q", out)
			}
		})
	}
	t.Run("postgres without its URL", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(cfg, []byte("store: postgres\n"), 0o600)
		code, _, errOut := runMigrate(t, cfg, nil, "-check")
		if code != ExitConfig || !strings.Contains(errOut, postgres.EnvURL) {
			t.Fatalf("%d %q", code, errOut)
		}
	})
}
