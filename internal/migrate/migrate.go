// Package migrate reads the versioned schema migrations a store embeds. Each is
// one file named NNNN_what.sql; versions start at 1 and have no gaps. A
// migration only adds (tables, columns, indexes): one that drops, deletes,
// truncates or renames is refused, so an upgrade never loses data and the
// previous version of the program still runs on the new schema (rolling deploys).
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string // the file name without the version and ".sql"
	SQL     string
}

func (m Migration) String() string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }

var (
	fileName    = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)
	destructive = regexp.MustCompile(`(?i)\b(drop|delete|truncate|rename|replace)\b`)
	comment     = regexp.MustCompile(`--[^\n]*`)
)

// Load reads the migrations in dir of fsys, in version order.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrate: %s: not a migration file name (NNNN_name.sql)", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		sql := string(b)
		if w := destructive.FindString(comment.ReplaceAllString(sql, "")); w != "" {
			return nil, fmt.Errorf("migrate: %s: %q is destructive; migrations only add", e.Name(), strings.ToUpper(w))
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: sql})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrate: %s: expected version %d (no gaps, no duplicates)", m, i+1)
		}
	}
	return out, nil
}

// Pending returns the migrations whose versions are not in applied.
func Pending(all []Migration, applied map[int]bool) []Migration {
	var out []Migration
	for _, m := range all {
		if !applied[m.Version] {
			out = append(out, m)
		}
	}
	return out
}

// Names lists the migrations as NNNN_name.
func Names(ms []Migration) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}
