package sqlite

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestFilesArePrivate: the database, its -wal and -shm files are created
// readable and writable by the owner alone, and a directory the bot creates
// for them is 0700, whatever a permissive umask would allow.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "state", "bot")
	p := filepath.Join(dir, "passcodebot.db")
	db, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Record(context.Background(), resetflow.Event{Time: t0, Step: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, p + "-wal", p + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %v; want -rw-------", filepath.Base(f), m)
		}
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o700 {
			t.Errorf("directory %s has mode %v; want drwx------", filepath.Base(d), m)
		}
	}
}

// TestExistingFileKeepsItsMode: a database file an administrator made keeps
// its mode (and its -wal and -shm follow it); a directory that exists is not touched.
func TestExistingFileKeepsItsMode(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	os.Chmod(dir, 0o750)
	p := filepath.Join(dir, "bot.db")
	if err := os.WriteFile(p, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Record(context.Background(), resetflow.Event{Time: t0, Step: "x"}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]fs.FileMode{p: 0o640, p + "-wal": 0o640, dir: 0o750} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v; want %v", filepath.Base(f), st.Mode().Perm(), want)
		}
	}
}
