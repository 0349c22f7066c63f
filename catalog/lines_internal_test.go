package catalog

import (
	"maps"
	"testing"

	"go.yaml.in/yaml/v3"
)

func yamlMap(t *testing.T, src string) (map[string]string, error) {
	t.Helper()
	var m map[string]string
	err := yaml.Unmarshal([]byte(src), &m)
	return m, err
}

// TestParseLinesIsYAML: both catalogs are read by the line reader (no fallback
// to the YAML decoder at start) and give exactly what yaml.Unmarshal gives.
func TestParseLinesIsYAML(t *testing.T) {
	for _, l := range Locales {
		raw, err := files.ReadFile("active." + l + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseLines(string(raw))
		if !ok {
			t.Fatalf("%s: the line reader gave up on the catalog", l)
		}
		want, err := yamlMap(t, string(raw))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s %s:\n got %q\nwant %q", l, k, got[k], v)
				}
			}
			t.Fatalf("%s: %d ids read, YAML has %d", l, len(got), len(want))
		}
	}
}

// TestParseLinesShapes: on each shape the reader accepts it agrees with YAML,
// and what it does not know it leaves to YAML (ok false), never guessing.
func TestParseLinesShapes(t *testing.T) {
	accepted := []string{
		"# c\na: \"x \\\"q\\\" \\\\ \\n \\u00e9 / # not a comment\"\nb: 'it''s'\n",
		"a: |-\n  line 1\n\n  line 2\n    indented\n\n\nb: \"x\" # comment\n",
		"a: |-\n  one\n# a comment at the margin ends the block\nb: 'y'\n",
		"a: \"日本語 {{.Device}}\"\r\nb: |-\r\n  x\r\n  y\r\n",
	}
	for _, src := range accepted {
		got, ok := parseLines(src)
		want, err := yamlMap(t, src)
		if !ok || err != nil || !maps.Equal(got, want) {
			t.Errorf("%q:\n got %q (ok %v)\nwant %q (%v)", src, got, ok, want, err)
		}
	}
	refused := []string{
		"a: plain\n", "a: \"open\n  more\"\n", "a: \"x\" trailing\n", "a: 'x\n", "a: |\n  keep\n", "a: >-\n  fold\n",
		"  a: \"x\"\n", "a: \"x\"\na: \"y\"\n", "---\na: \"x\"\n", "a: \"\\x41\"\n", "A: \"x\"\n", "a: |-\nb: \"x\"\n",
		"a: |-\n    deep\n  shallow\n", "a: \"tab\there\"\n", "a: {b: c}\n",
	}
	for _, src := range refused {
		if got, ok := parseLines(src); ok {
			t.Errorf("%q: read as %q; want it left to YAML", src, got)
		}
	}
}
