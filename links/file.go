// Package links keeps which directory user a chat account belongs to, for chat
// platforms whose accounts carry no company email (Discord). It implements
// resetflow.Links on a small JSON file, and reads an administrator's preload
// file (YAML or CSV) of accounts to link ahead of time.
package links

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Link is one chat account linked to a directory user.
type Link struct {
	Platform    string    `json:"platform"`
	ChatUserID  string    `json:"chat_user_id"`
	UserID      string    `json:"user_id"` // directory object id
	UPN         string    `json:"upn"`
	DisplayName string    `json:"display_name,omitempty"`
	LinkedAt    time.Time `json:"linked_at"`
}

// User is the link's directory user.
func (l Link) User() resetflow.User {
	return resetflow.User{ID: l.UserID, UPN: l.UPN, DisplayName: l.DisplayName}
}

type fileFormat struct {
	Version int    `json:"version"`
	Links   []Link `json:"links"`
}

// File is a resetflow.Links kept in a JSON file. Every change is written to a
// temporary file in the same directory and renamed over the old one, so a
// crash leaves either the old or the new table, never half of one; the file
// is readable by its owner only (0600). It is safe for concurrent use, and on
// Unix several processes (the bot and an administrator's command) may share
// the file: each operation takes an advisory lock and reads the file afresh.
type File struct {
	path string
	// Now stamps new links; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex
}

// Open returns the table kept at path. A missing file is an empty table; it is
// created at the first link. A file that exists but cannot be read is an error,
// so a damaged table is never silently replaced by an empty one.
func Open(path string) (*File, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("links: no file given")
	}
	f := &File{path: path}
	if err := f.with(false, func(*fileFormat) (bool, error) { return false, nil }); err != nil {
		return nil, err
	}
	return f, nil
}

// Path is where the table is kept.
func (f *File) Path() string { return f.path }

func key(platform, chatUserID string) string { return platform + "\x00" + chatUserID }

// LinkedUser implements resetflow.Links.
func (f *File) LinkedUser(_ context.Context, platform, chatUserID string) (resetflow.User, bool, error) {
	var (
		u  resetflow.User
		ok bool
	)
	err := f.with(false, func(t *fileFormat) (bool, error) {
		for _, l := range t.Links {
			if l.Platform == platform && l.ChatUserID == chatUserID {
				u, ok = l.User(), true
			}
		}
		return false, nil
	})
	return u, ok, err
}

// SetLink implements resetflow.Links: it links the account, replacing any earlier link.
func (f *File) SetLink(_ context.Context, platform, chatUserID string, u resetflow.User) error {
	if platform == "" || chatUserID == "" {
		return errors.New("links: platform and chat user id are required")
	}
	if u.ID == "" && u.UPN == "" {
		return errors.New("links: the directory user has neither object id nor UPN")
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	return f.with(true, func(t *fileFormat) (bool, error) {
		t.Links = slices.DeleteFunc(t.Links, func(l Link) bool { return l.Platform == platform && l.ChatUserID == chatUserID })
		t.Links = append(t.Links, Link{Platform: platform, ChatUserID: chatUserID, UserID: u.ID, UPN: u.UPN, DisplayName: u.DisplayName, LinkedAt: now().UTC()})
		return true, nil
	})
}

// RemoveLink implements resetflow.Links; it reports whether there was a link.
func (f *File) RemoveLink(_ context.Context, platform, chatUserID string) (bool, error) {
	had := false
	err := f.with(true, func(t *fileFormat) (bool, error) {
		n := len(t.Links)
		t.Links = slices.DeleteFunc(t.Links, func(l Link) bool { return l.Platform == platform && l.ChatUserID == chatUserID })
		had = len(t.Links) != n
		return had, nil
	})
	return had, err
}

// List returns every link, ordered by platform and chat user id.
func (f *File) List(context.Context) ([]Link, error) {
	var out []Link
	err := f.with(false, func(t *fileFormat) (bool, error) {
		out = slices.Clone(t.Links)
		return false, nil
	})
	slices.SortFunc(out, func(a, b Link) int {
		return strings.Compare(key(a.Platform, a.ChatUserID), key(b.Platform, b.ChatUserID))
	})
	return out, err
}

// with runs fn on the table read afresh from disk, under the process's mutex
// and the file lock (exclusive when write), and saves the table when fn says so.
func (f *File) with(write bool, fn func(*fileFormat) (bool, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockFile(f.path+".lock", write)
	if err != nil {
		return fmt.Errorf("links: lock %s: %w", f.path, err)
	}
	defer unlock()
	t, err := f.read()
	if err != nil {
		return err
	}
	changed, err := fn(t)
	if err != nil || !changed {
		return err
	}
	return f.write(t)
}

func (f *File) read() (*fileFormat, error) {
	raw, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &fileFormat{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("links: %w", err)
	}
	var t fileFormat
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("links: %s: %w", f.path, err)
	}
	if t.Version != 1 {
		return nil, fmt.Errorf("links: %s: version %d is not 1", f.path, t.Version)
	}
	return &t, nil
}

// write replaces the file atomically: temp file in the same directory, fsync, rename, fsync the directory.
func (f *File) write(t *fileFormat) error {
	t.Version = 1
	slices.SortFunc(t.Links, func(a, b Link) int {
		return strings.Compare(key(a.Platform, a.ChatUserID), key(b.Platform, b.ChatUserID))
	})
	raw, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("links: %w", err)
	}
	if _, err := tmp.Write(raw); err != nil {
		return fmt.Errorf("links: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("links: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("links: %w", err)
	}
	if err := os.Rename(name, f.path); err != nil {
		return fmt.Errorf("links: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
