package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type stringer struct{}

func (stringer) String() string { return "from String" }

// TestRenderLikeTextTemplate: a message's fields render as text/template with
// missingkey=default rendered them through go-i18n (the outputs below are what
// go-i18n v2.7.0 gave for the same data, compared id by id on both catalogs
// when the renderer replaced it).
func TestRenderLikeTextTemplate(t *testing.T) {
	n := 7
	m, err := parse("a {{.S}} b {{ .N }} c {{.P}} d {{.Missing}} e {{.Nil}} f {{.Str}} g {{.Err}} h {{.D}}{{.T}}")
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"S": "<x>", "N": 3, "P": &n, "Nil": nil, "Str": stringer{}, "Err": errors.New("boom"),
		"D": 90 * time.Second, "T": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	got, ok := m.render(func(k string) (any, bool) { v, ok := data[k]; return v, ok })
	want := "a <x> b 3 c 7 d <no value> e <no value> f from String g boom h 1m30s2026-01-02 03:04:05 +0000 UTC"
	if !ok || got != want {
		t.Fatalf("render = %q, %v; want %q", got, ok, want)
	}
	if _, ok := m.render(func(k string) (any, bool) { return func() {}, true }); ok {
		t.Fatal("a func value rendered; text/template refuses to print one")
	}
}

// TestParseRefusesOtherActions: an action other than {{.Field}} is an error when
// the catalog loads, never a sentence shown with braces in it.
func TestParseRefusesOtherActions(t *testing.T) {
	for _, src := range []string{"{{if .X}}y{{end}}", "{{.X | printf}}", "{{.X.Y}}", "{{X}}", "{{.}}", "a {{.X", "{{.1x}}", "{{- .X}}"} {
		if _, err := parse(src); err == nil {
			t.Errorf("parse(%q) accepted it", src)
		}
	}
	m, err := parse("no actions } { at all")
	if err != nil || len(m.fields) != 0 || m.text[0] != "no actions } { at all" {
		t.Fatalf("parse of plain text = %+v, %v", m, err)
	}
}

// TestTMissingAndRefused: a missing id, or one whose data cannot be printed,
// renders as its id and is listed by Missed; data overrides the helpdesk name.
func TestTMissingAndRefused(t *testing.T) {
	c := MustNew("en")
	if got := c.T("en", "no_such_message_id"); got != "no_such_message_id" {
		t.Fatalf("missing id rendered %q", got)
	}
	if got := c.T("en", "success", map[string]any{"Device": func() {}}); got != "success" {
		t.Fatalf("func data rendered %q", got)
	}
	missed := strings.Join(c.Missed(), ",")
	if !strings.Contains(missed, "no_such_message_id") || !strings.Contains(missed, "success") {
		t.Fatalf("Missed() = %q", missed)
	}
	if got := c.T("ja", "unknown_user", map[string]any{"Helpdesk": "情報システム部"}); !strings.Contains(got, "情報システム部") {
		t.Fatalf("data did not override the helpdesk name: %q", got)
	}
	if got := c.T("fr", "unknown_user"); !strings.Contains(got, "the helpdesk") {
		t.Fatalf("unknown locale did not fall back to the default: %q", got)
	}
}
