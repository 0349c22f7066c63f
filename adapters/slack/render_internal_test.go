package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestChunks(t *testing.T) {
	long := strings.Repeat("あ", 2500) + "\n" + strings.Repeat("b", 2000)
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want []int // rune counts
	}{
		{"empty", "", 10, nil},
		{"short", "hello", 10, []int{5}},
		{"at a line end", long, 3000, []int{2500, 2000}},
		{"no line end", strings.Repeat("x", 25), 10, []int{10, 10, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := chunks(tc.in, tc.n)
			var counts []int
			for _, c := range got {
				counts = append(counts, utf8.RuneCountInString(c))
			}
			if len(counts) != len(tc.want) {
				t.Fatalf("chunks = %v, want %v", counts, tc.want)
			}
			for i := range counts {
				if counts[i] != tc.want[i] {
					t.Fatalf("chunks = %v, want %v", counts, tc.want)
				}
			}
			if strings.Join(got, "") != strings.ReplaceAll(tc.in, "\n", "") {
				t.Errorf("chunks lost text")
			}
		})
	}
}

func TestEscapeAndTruncate(t *testing.T) {
	if got := escape("<@U1> & <!channel>"); got != "&lt;@U1&gt; &amp; &lt;!channel&gt;" {
		t.Errorf("escape = %q", got)
	}
	if got := truncate("パスコードのリセット", 5); got != "パスコー…" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 5); got != "short" {
		t.Errorf("truncate = %q", got)
	}
}

func TestRewrite(t *testing.T) {
	a := &Adapter{cfg: Config{EmailDomainRewrite: map[string]string{"@corp.example": "@contoso.example", "@eu.corp.example": "@eu.contoso.example"}}}
	for in, want := range map[string]string{
		"alice@corp.example":    "alice@contoso.example",
		"Alice@CORP.example":    "Alice@contoso.example",
		"bob@eu.corp.example":   "bob@eu.contoso.example",
		"carol@contoso.example": "carol@contoso.example",
		"@corp.example":         "@corp.example",
		"":                      "",
	} {
		if got := a.rewrite(in); got != want {
			t.Errorf("rewrite(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestEscapeRoundTrip: what the bot escapes (slack-go's EscapeMessage) is what
// Slack's escaping of message text looks like, so unescape undoes it exactly,
// and no control character survives to become a mention or a link.
func TestEscapeRoundTrip(t *testing.T) {
	for _, in := range []string{
		"", "plain", "<@U1> & <!channel>", "&amp; is already an entity", "&lt;b&gt;", "a<b>c&d", "<https://evil.example|click>",
		"パスコード <リセット> & 一時", "\"quotes\" 'stay' *bold* _it_ ~s~ `code`",
	} {
		got := escape(in)
		if strings.ContainsAny(got, "<>") {
			t.Errorf("escape(%q) = %q keeps < or >", in, got)
		}
		if rest := strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(got); strings.Contains(rest, "&") {
			t.Errorf("escape(%q) = %q keeps a bare &", in, got)
		}
		if back := unescape(got); back != in {
			t.Errorf("unescape(escape(%q)) = %q", in, back)
		}
	}
}
