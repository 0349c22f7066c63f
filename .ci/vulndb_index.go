//go:build ignore

// vulndb_index turns a folder of OSV files (golang.org/x/vulndb's data/osv)
// into a database in the Go vulnerability database's v1 layout, which
// `govulncheck -db file:///...` reads:
//
//	index/db.json       {"modified": newest entry's modified time, else -modified}
//	index/modules.json  [{"path": module, "vulns": [{"id", "modified"}]}]
//	index/vulns.json    [{"id", "modified", "aliases"}]
//	ID/<id>.json        each OSV entry, byte for byte
//
// The modules index leaves out the optional "fixed" version: govulncheck then
// reads every entry of a module and decides from the entry's own ranges, which
// is never less exact (only a little slower). The OSV files in the x/vulndb
// repository carry zero modified times (the service fills them in when it
// publishes), so the database's time is -modified: the pinned commit's time.
// Used by .ci/vulndb:
//
//	go run .ci/vulndb_index.go -osv <dir with GO-*.json> -out <new dir> -modified <RFC 3339>
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Module struct {
			Path string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "folder of OSV JSON files (GO-*.json)")
	out := flag.String("out", "", "folder to write the database to (must not exist)")
	modified := flag.String("modified", "", "the database's time when no entry has one (RFC 3339)")
	flag.Parse()
	if *osvDir == "" || *out == "" {
		log.Fatal("usage: vulndb_index -osv DIR -out DIR [-modified TIME]")
	}
	var at time.Time
	if *modified != "" {
		t, err := time.Parse(time.RFC3339, *modified)
		if err != nil {
			log.Fatalf("-modified: %v", err)
		}
		at = t
	}
	if err := build(*osvDir, *out, at); err != nil {
		log.Fatal(err)
	}
}

func build(osvDir, out string, modified time.Time) error {
	files, err := filepath.Glob(filepath.Join(osvDir, "GO-*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no GO-*.json files in %s", osvDir)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists", out)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return err
		}
	}
	var (
		newest  time.Time
		modules = map[string]*module{}
		vulns   []vuln
	)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" {
			return fmt.Errorf("%s: entry id %q does not match the file name", f, e.ID)
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		seen := map[string]bool{}
		for _, a := range e.Affected {
			p := a.Module.Path
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			m := modules[p]
			if m == nil {
				m = &module{Path: p}
				modules[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return err
		}
	}
	if newest.IsZero() {
		newest = modified
	}
	// An empty or misread database would let govulncheck pass without looking:
	// the standard library has had entries every year since 2021.
	if m := modules["stdlib"]; m == nil || len(m.Vulns) < 100 {
		return fmt.Errorf("%s: fewer than 100 standard-library entries (%d modules read): not a vulnerability database", osvDir, len(modules))
	}
	mods := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(vulns, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })
	for name, v := range map[string]any{
		"db.json":      map[string]time.Time{"modified": newest},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(v); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "index", name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("vulndb: %d entries, %d modules, newest %s\n", len(vulns), len(mods), newest.Format(time.RFC3339))
	return nil
}
