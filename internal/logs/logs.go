// Package logs builds the bot's structured logger with a redaction rule: no
// passcode, token, authorization code, state or secret reaches a log line, by
// attribute name or by the shape of the value.
package logs

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
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

// sensitiveKey matches attribute names whose values are secrets whatever they look like.
var sensitiveKey = regexp.MustCompile(`(?i)(pass(code|word)|secret|token|authorization|cookie|^code$|_code$|^state$|nonce|verifier|credential|api_?key)`)

// sensitiveValue matches secrets inside any string: Slack and Discord tokens,
// bearer and JWT tokens, OAuth query parameters, and passcode-like labels.
var sensitiveValue = []*regexp.Regexp{
	regexp.MustCompile(`xox[abposre]-[A-Za-z0-9-]+`),
	regexp.MustCompile(`xapp-[A-Za-z0-9-]+`),
	regexp.MustCompile(`(?i)\b(bearer|bot)\s+[A-Za-z0-9._~+/=-]{20,}`),
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`),
	regexp.MustCompile(`(?i)([?&](code|state|session_state|client_secret|access_token|id_token|refresh_token|code_verifier|nonce)=)[^&\s"]+`),
	regexp.MustCompile(`(?i)("?(passcode|password|client_secret|access_token|refresh_token|id_token|token)"?\s*[:=]\s*"?)[^"&\s,}]+`),
	regexp.MustCompile(`[MNO][A-Za-z\d]{23,25}\.[\w-]{6}\.[\w-]{27,}`), // Discord bot token
}

// Scrub removes secrets from s.
func Scrub(s string) string {
	for _, re := range sensitiveValue {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			sub := re.FindStringSubmatch(m)
			if len(sub) > 1 && sub[1] != "" && strings.HasSuffix(sub[1], "=") || len(sub) > 1 && strings.ContainsAny(sub[1], ":=") {
				return sub[1] + "[redacted]"
			}
			return "[redacted]"
		})
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
