// Package htmlw writes the bot's HTML pages (the sign-in pages and the
// helpdesk console) without templates.
//
// Executing a text/template or html/template template calls methods by name
// through reflect, so a binary that can execute one keeps every exported
// method of every type it has: 3.9 MB of the release binary (issue 17). The
// pages are small and fixed, so they are written in Go with this writer,
// which keeps html/template's escaping guarantee by construction:
//
//   - Markup is written as it is. It is a distinct string type, so only an
//     untyped constant in the code (the page's fixed markup) converts to it
//     implicitly; any other string needs a visible Markup(...) conversion.
//   - Every other value goes through Text, which escapes it exactly as
//     html/template's HTML and attribute escapers do (NUL, " & ' + < >).
//     The pages put values only in element content and in double-quoted
//     attribute values, the two contexts where that escaping is complete.
//   - A value that is a URL (href, action) goes through URL: html/template's
//     URL filter (only http, https, mailto or a relative URL; anything else
//     becomes "#ZgotmplZ"), its normalizer, then Text. A value placed inside
//     a URL's query goes through Query (percent-encoding of everything but
//     unreserved characters, as html/template's URL escaper does).
//
// No value is ever written inside a <script> or <style> element, an event
// handler attribute, or an unquoted attribute; the tests of the pages render
// hostile values in every field and check what a browser parses.
package htmlw

import (
	"strings"
)

// Markup is HTML written as it is: fixed markup in the code, or markup this
// package or the console's chart code built with escaping.
type Markup string

// Writer accumulates a page.
type Writer struct{ b strings.Builder }

// M writes markup as it is.
func (w *Writer) M(m Markup) { w.b.WriteString(string(m)) }

// Text writes s escaped for element content or a double-quoted attribute value.
func (w *Writer) Text(s string) { writeEscaped(&w.b, s) }

// URL writes s as the value of a URL attribute (href, action), quoted by the caller.
func (w *Writer) URL(s string) { writeEscaped(&w.b, NormalizeURL(FilterURL(s))) }

// Query writes s as a part of a URL's query string, inside a URL attribute.
func (w *Writer) Query(s string) { writeEscaped(&w.b, escapeURL(s, false)) }

// String is the page written so far.
func (w *Writer) String() string { return w.b.String() }

// Bytes is the page written so far.
func (w *Writer) Bytes() []byte { return []byte(w.b.String()) }

// Escape is s escaped as Text writes it.
func Escape(s string) string {
	var b strings.Builder
	writeEscaped(&b, s)
	return b.String()
}

// replacement is html/template's htmlReplacementTable: what its HTML text
// and attribute escapers write for each special character.
var replacement = [...]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

func writeEscaped(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if int(c) >= len(replacement) || replacement[c] == "" {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(replacement[c])
		last = i + 1
	}
	b.WriteString(s[last:])
}

// FilterURL is s if it is a relative URL or its scheme is http, https or
// mailto (case-insensitive), else "#ZgotmplZ", as html/template's URL filter
// does for a URL that is not trusted.
func FilterURL(s string) string {
	if i := strings.IndexRune(s, ':'); i >= 0 && !strings.ContainsRune(s[:i], '/') {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "mailto":
		default:
			return "#ZgotmplZ"
		}
	}
	return s
}

// NormalizeURL percent-encodes the bytes of s that may not appear in a URL,
// keeping reserved characters and existing escapes, as html/template's URL
// normalizer does.
func NormalizeURL(s string) string { return escapeURL(s, true) }

func escapeURL(s string, norm bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		// Single quote and parentheses are sub-delims in RFC 3986 but are
		// encoded, as html/template does.
		case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']':
			if norm {
				continue
			}
		case '-', '.', '_', '~':
			continue
		case '%':
			// A valid escape is kept when normalizing (html/template's
			// bounds check included).
			if norm && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				continue
			}
		default:
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				continue
			}
		}
		b.WriteString(s[last:i])
		const hex = "0123456789abcdef"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
		last = i + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
