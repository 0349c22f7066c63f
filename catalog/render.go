package catalog

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// A message is a catalog sentence cut at its actions: text, then a field of
// the data, then text, and so on. The catalogs use no other action than
// {{.Field}}, so a small renderer does what text/template did, without
// text/template: executing a template calls methods by name through reflect,
// which makes the linker keep every exported method of every type in the
// binary (issue 17: 3.9 MB).
type message struct {
	text   []string // len(fields)+1 pieces of plain text
	fields []string
}

// parse cuts src at its actions. An action other than {{.Field}} (optionally
// with spaces inside the braces) is an error, found when the catalog loads.
func parse(src string) (message, error) {
	var m message
	rest := src
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			m.text = append(m.text, rest)
			return m, nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return message{}, fmt.Errorf("unclosed action in %q", src)
		}
		action := strings.TrimSpace(rest[i+2 : i+j])
		name, ok := strings.CutPrefix(action, ".")
		if !ok || !isIdent(name) {
			return message{}, fmt.Errorf("action {{%s}} in %q: only {{.Field}} is supported", action, src)
		}
		m.text = append(m.text, rest[:i])
		m.fields = append(m.fields, name)
		rest = rest[i+j+2:]
	}
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// render fills the fields from lookup. A field lookup does not have renders as
// "<no value>" and a nil one too, as text/template's missingkey=default does
// (which go-i18n used); ok is false for a value text/template refuses to print
// (a func or a chan).
func (m message) render(lookup func(string) (any, bool)) (string, bool) {
	if len(m.fields) == 0 {
		return m.text[0], true
	}
	var b strings.Builder
	for i, f := range m.fields {
		b.WriteString(m.text[i])
		v, _ := lookup(f)
		s, ok := printable(v)
		if !ok {
			return "", false
		}
		b.WriteString(s)
	}
	b.WriteString(m.text[len(m.fields)])
	return b.String(), true
}

// printable prints v as text/template prints a value: nil as "<no value>", a
// pointer as what it points to unless it is an error or a Stringer, anything
// else with fmt.
func printable(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "<no value>", true
	case string:
		return v, true
	case error, fmt.Stringer:
		return fmt.Sprint(v), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if !rv.IsNil() {
			return fmt.Sprint(rv.Elem().Interface()), true
		}
	case reflect.Chan, reflect.Func:
		return "", false
	}
	return fmt.Sprint(v), true
}

// load reads one embedded catalog file: a map from message id to its sentence.
func load(name string) (map[string]message, error) {
	raw, err := files.ReadFile(name)
	if err != nil {
		return nil, err
	}
	src, ok := parseLines(string(raw))
	if !ok || !utf8.Valid(raw) {
		src = nil
		if err := yaml.Unmarshal(raw, &src); err != nil {
			return nil, err
		}
	}
	out := make(map[string]message, len(src))
	for id, s := range src {
		m, err := parse(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		out[id] = m
	}
	return out, nil
}
