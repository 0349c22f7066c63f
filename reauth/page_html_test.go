package reauth

import (
	"html/template"
	"strings"
	"testing"
)

// TestPageSameAsTemplate: the hand-written page is, byte for byte, what
// html/template wrote from the template it replaced (testdata/page.html), for
// empty pages, full pages and values that try to break out of every context
// the page puts a value in (text, attributes, the form's action URL).
func TestPageSameAsTemplate(t *testing.T) {
	old := template.Must(template.ParseFiles("testdata/page.html"))
	bad := `"><script>alert(1)</script>&'+` + "\x00"
	pages := []page{
		{},
		{Lang: "ja", Title: "タイトル", Body: "本文", Note: "注記"},
		{Lang: "en", Title: "T", Action: "/r/tok", Button: "Continue", Auto: true},
		{Lang: bad, Title: bad, Body: bad, Note: bad, Action: "/local/signin?x=" + bad, Button: bad, Label: bad, Code: bad, Warning: bad,
			Hidden: map[string]string{"z": bad, "a": "1", bad: "k"}, Options: []Option{{bad, bad}, {"2", "two"}}, Auto: true},
		{Action: "javascript:alert(1)", Button: "x"},
		{Action: "https://login.example/authorize?client_id=a b&state=c", Button: "x", Options: []Option{{"1", "one"}}, Label: "L"},
	}
	for i, pg := range pages {
		var want strings.Builder
		if err := old.ExecuteTemplate(&want, "page.html", pg); err != nil {
			t.Fatal(err)
		}
		if got := string(pg.html()); got != want.String() {
			t.Errorf("page %d:\n got %s\nwant %s", i, got, want.String())
		}
	}
}
