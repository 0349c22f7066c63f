package discord

// The account-link preload: an administrator's file (YAML or CSV) of Discord
// accounts to link to directory users ahead of time, applied to the engine's
// account links (resetflow.Links, kept in the SQLite store).

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/passcodebot/passcodebot/resetflow"
)

// PreloadEntry is one line of an administrator's preload file: a Discord account and
// the directory user it belongs to.
type PreloadEntry struct {
	DiscordUserID string `yaml:"discord_user_id"`
	UPN           string `yaml:"upn"`
	ObjectID      string `yaml:"object_id"` // optional when a directory is given to Preload
	Name          string `yaml:"name"`      // optional display name
}

// LoadPreload reads a preload file: YAML (a list, or a map with a "links" list)
// or CSV with a header row naming discord_user_id, upn and optionally object_id
// and name. The format follows the extension (.csv, else YAML). Every entry is
// checked; the first bad one is reported with its position.
func LoadPreload(path string) ([]PreloadEntry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("links preload: %w", err)
	}
	var entries []PreloadEntry
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		entries, err = parseCSV(raw)
	} else {
		entries, err = parseYAML(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("links preload %s: %w", path, err)
	}
	seen := map[string]string{}
	for i, e := range entries {
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("links preload %s: entry %d: %w", path, i+1, err)
		}
		if prev, dup := seen[e.DiscordUserID]; dup && !strings.EqualFold(prev, e.UPN) {
			return nil, fmt.Errorf("links preload %s: entry %d: discord_user_id %s is linked twice (%s and %s)", path, i+1, e.DiscordUserID, prev, e.UPN)
		}
		seen[e.DiscordUserID] = e.UPN
	}
	return entries, nil
}

func (e *PreloadEntry) check() error {
	e.DiscordUserID = strings.TrimSpace(e.DiscordUserID)
	e.UPN = strings.TrimSpace(e.UPN)
	e.ObjectID = strings.TrimSpace(e.ObjectID)
	e.Name = strings.TrimSpace(e.Name)
	if !IsSnowflake(e.DiscordUserID) {
		return fmt.Errorf("discord_user_id %q is not a Discord user id (digits only)", e.DiscordUserID)
	}
	if at := strings.Index(e.UPN, "@"); at <= 0 || at == len(e.UPN)-1 {
		return fmt.Errorf("upn %q is not a user principal name", e.UPN)
	}
	return nil
}

// IsSnowflake reports whether s looks like a Discord id: 15 to 20 digits.
func IsSnowflake(s string) bool {
	if len(s) < 15 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func parseYAML(raw []byte) ([]PreloadEntry, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return nil, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if root.Content[0].Kind == yaml.SequenceNode {
		var list []PreloadEntry
		if err := dec.Decode(&list); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return list, nil
	}
	var doc struct {
		Links []PreloadEntry `yaml:"links"`
	}
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return doc.Links, nil
}

func parseCSV(raw []byte) ([]PreloadEntry, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\ufeff"))))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"discord_user_id", "upn"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the header row names no %s column", need)
		}
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	var out []PreloadEntry
	for _, row := range rows[1:] {
		out = append(out, PreloadEntry{DiscordUserID: get(row, "discord_user_id"), UPN: get(row, "upn"), ObjectID: get(row, "object_id"), Name: get(row, "name")})
	}
	return out, nil
}

// Preload links every entry's Discord account in dst. With a directory, each
// UPN is looked up (and an object id in the file must match the directory's);
// without one, each entry needs its object id. It stops at the first failure
// and reports how many were linked before it. Linking again is harmless.
func Preload(ctx context.Context, dst resetflow.Links, dir resetflow.Directory, entries []PreloadEntry) (int, error) {
	for i, e := range entries {
		u := resetflow.User{ID: e.ObjectID, UPN: e.UPN, DisplayName: e.Name}
		if dir != nil {
			du, err := dir.LookupUser(ctx, e.UPN)
			if err != nil {
				return i, fmt.Errorf("links preload: %s: %w", e.UPN, err)
			}
			if e.ObjectID != "" && du.ID != "" && !strings.EqualFold(du.ID, e.ObjectID) {
				return i, fmt.Errorf("links preload: %s: object_id %s differs from the directory's %s", e.UPN, e.ObjectID, du.ID)
			}
			// A directory that resolves UPNs without their object id (Intune's
			// user_lookup: upn) leaves the file's id and name standing.
			if du.ID == "" {
				du.ID = e.ObjectID
			}
			if du.DisplayName == "" {
				du.DisplayName = e.Name
			}
			u = du
		}
		if u.ID == "" {
			return i, fmt.Errorf("links preload: %s: no object id (give object_id, or a directory)", e.UPN)
		}
		if err := dst.SetLink(ctx, Platform, e.DiscordUserID, u); err != nil {
			return i, err
		}
	}
	return len(entries), nil
}

// Unlink is the administrator's unlink: it forgets the chat account's link and
// reports whether there was one. platform is usually Platform.
func Unlink(ctx context.Context, dst resetflow.Links, platform, chatUserID string) (bool, error) {
	if platform == "" {
		platform = Platform
	}
	return dst.RemoveLink(ctx, platform, strings.TrimSpace(chatUserID))
}
