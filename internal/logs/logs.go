// Package logs builds the bot's structured logger with a redaction rule: no
// passcode, token, authorization code, state or secret reaches a log line, by
// attribute name or by the shape of the value.
package logs

import (
	"context"
	"io"
	"log/slog"
	"regexp"
)

// New returns a JSON (production) or text (terminal) logger at level, redacting.
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: replace}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(&redactor{h})
}

// sensitiveKey matches attribute names (and map keys, struct field names and
// header names inside composite values) whose values are secrets whatever they look like.
var sensitiveKey = regexp.MustCompile(`(?i:pass(code|word|wd|phrase)|^pwd$|secret|token|authori[sz]ation|auth_?header|cookie|^code$|_code$|^state$|nonce|verifier|credential|api[_-]?key|private[_-]?key|signature|(^|[_.\- ])session([_-]?(id|key))?$|(^|[_.\- ])(otp|pins?)($|[_.\- ]))|[a-z]P(?:IN|in)s?$`)

// rule is one shape of secret inside a string and what replaces it.
type rule struct {
	re   *regexp.Regexp
	repl string // a regexp.Expand template
}

// sensitiveValue matches secrets inside any string: Slack and Discord tokens,
// bearer, basic and JWT tokens, header lines, passwords in URLs, OAuth query
// parameters, and passcode-like labels.
var sensitiveValue = []rule{
	{regexp.MustCompile(`xox[abposre]-[A-Za-z0-9-]+`), redacted},
	{regexp.MustCompile(`xapp-[A-Za-z0-9-]+`), redacted},
	{regexp.MustCompile(`(?i)\b(?:bearer|bot)\s+[A-Za-z0-9._~+/=-]{20,}`), redacted},
	{regexp.MustCompile(`(?i)\b(?:basic|digest|negotiate|ntlm)\s+[A-Za-z0-9._~+/=-]{6,}`), redacted},
	{regexp.MustCompile(`(?i)((?:^|[\s"'{,;])(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|api-key)"?\s*[:=]\s*)(?:"[^"]*"|[^\r\n]+)`), "${1}" + redacted},
	{regexp.MustCompile(`(?i)(://[^/\s:@]+:)[^@\s/]+@`), "${1}" + redacted + "@"}, // a password in a URL's userinfo
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`), redacted},
	{regexp.MustCompile(`(?i)((?:^|[?&;])(?:code|state|session_state|client_secret|access_token|id_token|refresh_token|code_verifier|nonce|passcode|password|pin|token|api[_-]?key|key|sig|signature|secret)=)[^&\s"]+`), "${1}" + redacted},
	{regexp.MustCompile(`(?i)("?\b(?:passcode|password|passwd|pwd|pin|new_pin|client_secret|access_token|refresh_token|id_token|token|secret|api[_-]?key|otp)"?\s*[:=]\s*"?)[^"&\s,}]+`), "${1}" + redacted},
	{regexp.MustCompile(`[MNO][A-Za-z\d]{23,25}\.[\w-]{6}\.[\w-]{27,}`), redacted}, // Discord bot token
}

// Scrub removes secrets from s.
func Scrub(s string) string {
	for _, r := range sensitiveValue {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

const redacted = "[redacted]"

func replace(groups []string, a slog.Attr) slog.Attr {
	if sensitiveKey.MatchString(a.Key) {
		return slog.String(a.Key, redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != Scrub(s) {
			return slog.String(a.Key, Scrub(s))
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			return slog.String(a.Key, Scrub(v.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, Scrub(v.String()))
		}
		if v, changed := sanitize(a.Value.Any()); changed {
			return slog.Any(a.Key, v)
		}
	}
	return a
}

// redactor also scrubs the message itself.
type redactor struct{ slog.Handler }

func (r *redactor) Handle(ctx context.Context, rec slog.Record) error {
	if s := Scrub(rec.Message); s != rec.Message {
		nr := slog.NewRecord(rec.Time, rec.Level, s, rec.PC)
		rec.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		rec = nr
	}
	return r.Handler.Handle(ctx, rec)
}

func (r *redactor) WithAttrs(as []slog.Attr) slog.Handler {
	return &redactor{r.Handler.WithAttrs(as)}
}

func (r *redactor) WithGroup(name string) slog.Handler { return &redactor{r.Handler.WithGroup(name)} }
