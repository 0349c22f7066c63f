package htmlw

import (
	"html/template"
	"strings"
	"testing"
)

// hostile are values that break out of a context unless they are escaped.
var hostile = []string{
	"", "plain", `"><script>alert(1)</script>`, `' onmouseover='x`, "a&b&amp;c", "<b>bold</b>", "1+1=2",
	"\x00nul", "javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "data:text/html,<b>", "vbscript:x",
	"http://example.com/a b?c=d&e=f#g", "HTTPS://x", "mailto:a@b", "/console/flow/x y", "//evil.example/",
	"/a:b", "a/b:c", "100%", "%zz", "%41b", "a%4", "x%41", "日本語", "tab\there", "new\nline", "back`tick", "(paren)", "[x]{y}|\\^",
	"?q=1&r=<2>", "#frag", "\u2028\u2029", "ä+ö",
}

func golden(t *testing.T, src string, v string) string {
	t.Helper()
	var b strings.Builder
	if err := template.Must(template.New("").Parse(src)).Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSameAsHTMLTemplate: for each hostile value, the writer produces the
// bytes html/template produces for the same value in the same context: element
// content, a double-quoted attribute, a URL attribute, a URL attribute's path
// after a fixed prefix, and a query parameter value.
func TestSameAsHTMLTemplate(t *testing.T) {
	for _, v := range hostile {
		cases := []struct {
			name, tmpl string
			write      func(w *Writer)
		}{
			{"text", `<p>{{.}}</p>`, func(w *Writer) { w.M("<p>"); w.Text(v); w.M("</p>") }},
			{"attr", `<input value="{{.}}">`, func(w *Writer) { w.M(`<input value="`); w.Text(v); w.M(`">`) }},
			{"url", `<a href="{{.}}">x</a>`, func(w *Writer) { w.M(`<a href="`); w.URL(v); w.M(`">x</a>`) }},
			{"action", `<form action="{{.}}"></form>`, func(w *Writer) { w.M(`<form action="`); w.URL(v); w.M(`"></form>`) }},
			{"path", `<a href="/console/flow/{{.}}">x</a>`, func(w *Writer) { w.M(`<a href="/console/flow/`); w.Text(NormalizeURL(v)); w.M(`">x</a>`) }},
			{"query", `<a href="/console/trail?person={{.}}">x</a>`, func(w *Writer) { w.M(`<a href="/console/trail?person=`); w.Query(v); w.M(`">x</a>`) }},
		}
		for _, c := range cases {
			var w Writer
			c.write(&w)
			if want := golden(t, c.tmpl, v); w.String() != want {
				t.Errorf("%s %q:\n got %s\nwant %s", c.name, v, w.String(), want)
			}
		}
	}
}

// TestFilterURL: a scheme other than http, https or mailto never reaches an href.
func TestFilterURL(t *testing.T) {
	for _, s := range []string{"javascript:alert(1)", "JAVASCRIPT:x", "data:,x", "vbscript:x", "file:///etc/passwd"} {
		if got := FilterURL(s); got != "#ZgotmplZ" {
			t.Errorf("FilterURL(%q) = %q", s, got)
		}
	}
	for _, s := range []string{"/r/abc", "https://login.example/authorize?x=1", "?a=b", "#x", "a/b:c"} {
		if got := FilterURL(s); got != s {
			t.Errorf("FilterURL(%q) = %q", s, got)
		}
	}
}
