package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadOrdersAndChecks(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("ALTER TABLE a ADD COLUMN b TEXT; -- never drop anything\n")},
		"m/0001_init.sql": {Data: []byte("CREATE TABLE a (id INTEGER);")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Names(ms), ","); got != "0001_init,0002_more" {
		t.Fatalf("order: %s", got)
	}
	if p := Names(Pending(ms, map[int]bool{1: true})); len(p) != 1 || p[0] != "0002_more" {
		t.Fatalf("pending: %v", p)
	}
}

func TestLoadRefusesDestructiveAndGaps(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"drop":     {"m/0001_init.sql": {Data: []byte("DROP TABLE a;")}},
		"delete":   {"m/0001_init.sql": {Data: []byte("delete from a;")}},
		"truncate": {"m/0001_init.sql": {Data: []byte("TRUNCATE a;")}},
		"rename":   {"m/0001_init.sql": {Data: []byte("ALTER TABLE a RENAME TO b;")}},
		"column":   {"m/0001_init.sql": {Data: []byte("ALTER TABLE a DROP COLUMN b;")}},
		"gap":      {"m/0001_init.sql": {Data: []byte("CREATE TABLE a (id INTEGER);")}, "m/0003_x.sql": {Data: []byte("CREATE TABLE b (id INTEGER);")}},
		"badname":  {"m/1_init.sql": {Data: []byte("CREATE TABLE a (id INTEGER);")}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
