package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Errors is every problem found in a configuration file, each naming its key.
type Errors []error

func (es Errors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(es))
	for _, e := range es {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error { return es }

// node is one key or value of the file, with the key path that leads to it.
type node struct {
	line int
	key  bool   // a mapping key (else a value)
	text string // the scalar's text
	path string
}

// keyPaths lists the keys and scalar values of raw with their paths ("reset.window", "rules[2].outcome").
func keyPaths(raw []byte) []node {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		return nil
	}
	var out []node
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			out = append(out, node{line: n.Line, path: path})
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				out = append(out, node{line: k.Line, key: true, text: k.Value, path: p})
				walk(v, p)
			}
		case yaml.SequenceNode:
			out = append(out, node{line: n.Line, path: path})
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		case yaml.ScalarNode:
			out = append(out, node{line: n.Line, text: n.Value, path: path})
		default:
			out = append(out, node{line: n.Line, path: path})
		}
	}
	walk(&doc, "")
	return out
}

var (
	reUnknownKey = regexp.MustCompile(`^line (\d+): field (.+) not found in type .*$`)
	reBadValue   = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
)

// explainYAML turns the decoder's errors (line numbers and Go types) into
// problems named by key path, in the words of the file.
func explainYAML(err error, raw []byte) Errors {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Errors{err}
	}
	nodes := keyPaths(raw)
	find := func(line int, key bool, text string) string {
		for _, n := range nodes {
			if n.line == line && n.key == key && n.path != "" && (text == "" || n.text == text) {
				return n.path
			}
		}
		for _, n := range nodes { // a value that is not a scalar (a list where a word belongs)
			if n.line == line && n.key == key && n.path != "" {
				return n.path
			}
		}
		return "line " + strconv.Itoa(line)
	}
	var out Errors
	for _, msg := range te.Errors {
		if m := reUnknownKey.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			out = append(out, fmt.Errorf("%s: unknown key (a typo, or a key of another section?)", find(line, true, m[2])))
			continue
		}
		if m := reBadValue.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			path := find(line, false, m[3])
			got := m[3]
			if got == "" {
				got = map[string]string{"!!seq": "a list", "!!map": "a section"}[m[2]]
			} else {
				got = strconv.Quote(got)
			}
			out = append(out, fmt.Errorf("%s: %s is not %s", path, got, want(m[4])))
			continue
		}
		out = append(out, errors.New(msg))
	}
	return out
}

// want says in words what a Go type accepts.
func want(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration such as 30s, 5m or 1h"
	case goType == "int" || goType == "int64":
		return "a whole number"
	case goType == "bool":
		return "true or false"
	case goType == "string" || strings.HasSuffix(goType, "Decision") || strings.HasSuffix(goType, "Outcome") ||
		strings.HasSuffix(goType, "Mode") || strings.HasSuffix(goType, "Ownership"):
		return "a single word or text"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "a section of keys"
	}
	return "of the right type (" + goType + ")"
}

// flatten lists the problems inside joined errors, so each is reported on its own line.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
