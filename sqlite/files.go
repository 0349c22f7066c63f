package sqlite

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// createPrivate creates the database file readable by its owner alone (0600)
// when it does not exist yet, and its directory (0700) when that is missing
// too. SQLite gives the -wal and -shm files the database file's mode, so
// they are private as well. An existing file keeps the mode it has.
func createPrivate(path string) error {
	// Open takes SQLite URI parameters after a "?"; a mode (ro, memory) means
	// the bot does not create the file.
	path, query, _ := strings.Cut(path, "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=") {
		return nil
	}
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // there already (or unreadable: sql.Open says why)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // another process made it in the meantime
	}
	if err != nil {
		return err
	}
	return f.Close()
}
