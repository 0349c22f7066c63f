package logs

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestRedaction proves the rule: none of these secrets reaches a log line, in
// either format, whether it is an attribute, part of an error or the message.
func TestRedaction(t *testing.T) {
	secrets := map[string]string{
		"slack bot token": "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
		"slack app token": "xapp-1-A0123456789-1234567890123-abcdef0123456789",
		"jwt":             "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl",
		"bearer":          "Bearer 0123456789abcdefABCDEF",
		"discord token":   "MTA5ODc2NTQzMjEwOTg3NjU0MzI.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
		"oauth code":      "0.AXoA-secret-code-value",
		"oauth state":     "st4te-Zk39qPw0",
		"passcode":        "Kp4sW9qz",
		"graph secret":    "s3cr3t~Value.With_Chars",
	}
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		log := New(&buf, format, slog.LevelDebug)
		log.Info("connect", "token", secrets["slack bot token"], "app_token", secrets["slack app token"])
		log.Info("callback", "url", "https://bot.example/oidc/callback?code="+secrets["oauth code"]+"&state="+secrets["oauth state"])
		log.Warn("graph refused", "err", errors.New("POST /token: client_secret="+secrets["graph secret"]+" rejected"))
		log.Info("header", "authorization", secrets["bearer"])
		log.Info("sent "+secrets["bearer"], "id_token", secrets["jwt"], "raw", "got "+secrets["jwt"])
		log.Info("discord", "detail", "Authorization: Bot "+secrets["discord token"])
		log.Info("result", "passcode", secrets["passcode"], "body", `{"passcode":"`+secrets["passcode"]+`"}`)
		log.Info("secret type", "secret", resetflow.NewSecret("x", secrets["passcode"]), "v", resetflow.NewSecret("x", secrets["passcode"]))
		log.With("state", secrets["oauth state"]).WithGroup("g").Info("grouped", "code", secrets["oauth code"])
		log.Info(fmt.Sprintf("redirected to /oidc/callback?code=%s", secrets["oauth code"]))
		out := buf.String()
		for name, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s: %s leaks into the log:\n%s", format, name, out)
			}
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("%s: nothing was marked redacted", format)
		}
		// Ordinary values stay readable.
		log.Info("passcodebot starting", "user", "alice@contoso.example", "device", "dev-pixel", "step", "confirm", "note", "the bot is shutting down gracefully")
		if !strings.Contains(buf.String(), "alice@contoso.example") || !strings.Contains(buf.String(), "dev-pixel") ||
			!strings.Contains(buf.String(), "passcodebot starting") || !strings.Contains(buf.String(), "bot is shutting down") {
			t.Errorf("%s: ordinary values were redacted", format)
		}
	}
}
