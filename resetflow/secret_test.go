package resetflow_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

// secretHolder keeps a Secret where fmt cannot call its methods: an unexported
// field is printed by reflection.
type secretHolder struct {
	name   string
	secret resetflow.Secret
	ptr    *resetflow.Secret
}

// Embedded keeps a Secret as an embedded (promoted) field.
type embedded struct {
	resetflow.Secret
	Note string
}

// TestSecretNeverFormats prints a passcode every way a log line, an error or a
// debug print could: every fmt verb, slog's text and JSON handlers, encoding/json,
// for a *Secret, a Secret value, and structs, slices, arrays, maps and
// interfaces holding either. The passcode appears in none of them, and the
// placeholder does where the Secret's methods are reachable.
func TestSecretNeverFormats(t *testing.T) {
	const pass = "Kp4sW9qzQ"
	p := resetflow.NewSecret("Temporary passcode", pass)
	v := *p
	holders := map[string]any{
		"*Secret":                      p,
		"Secret":                       v,
		"Message":                      resetflow.Message{Text: "here", Secret: p},
		"*Message":                     &resetflow.Message{Text: "here", Secret: p},
		"ActionResult":                 resetflow.ActionResult{State: resetflow.ActionDone, Passcode: p},
		"*ActionResult":                &resetflow.ActionResult{State: resetflow.ActionDone, Passcode: p},
		"[]*Secret":                    []*resetflow.Secret{p, p},
		"[]Secret":                     []resetflow.Secret{v},
		"[1]Secret":                    [1]resetflow.Secret{v},
		"map[string]Secret":            map[string]resetflow.Secret{"k": v},
		"map[string]*Secret":           map[string]*resetflow.Secret{"k": p},
		"map[Secret]int":               map[resetflow.Secret]int{v: 1},
		"[]any":                        []any{v, p},
		"map[string]any":               map[string]any{"v": v, "p": p},
		"unexported fields":            secretHolder{name: "x", secret: v, ptr: p},
		"*unexported fields":           &secretHolder{name: "x", secret: v, ptr: p},
		"embedded":                     embedded{Secret: v, Note: "n"},
		"[]ActionResult":               []resetflow.ActionResult{{Passcode: p}},
		"map[string]resetflow.Message": map[string]resetflow.Message{"m": {Secret: p}},
		"error":                        fmt.Errorf("wrapped: %v", v),
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %[1]v", "%10.3s", "%-8v|"}
	paths := 0
	check := func(what, out string) {
		t.Helper()
		paths++
		if strings.Contains(out, pass) || strings.Contains(out, fmt.Sprintf("%x", pass)) || strings.Contains(out, fmt.Sprintf("%X", pass)) {
			t.Errorf("%s prints the passcode: %s", what, out)
		}
	}
	for name, h := range holders {
		for _, verb := range verbs {
			check(name+" "+verb, fmt.Sprintf(verb, h))
		}
		check(name+" Sprint", fmt.Sprint(h))
		check(name+" Sprintln", fmt.Sprintln("x", h))
		check(name+" Errorf %w", fmt.Errorf("e: %w %v", errors.New("inner"), h).Error())
		if b, err := json.Marshal(h); err == nil {
			check(name+" json.Marshal", string(b))
		} else if !strings.Contains(err.Error(), "unsupported") {
			check(name+" json.Marshal error", err.Error())
		}
		if b, err := json.MarshalIndent(h, "", " "); err == nil {
			check(name+" json.MarshalIndent", string(b))
		}
		for _, format := range []string{"text", "json"} {
			var buf bytes.Buffer
			var hd slog.Handler = slog.NewTextHandler(&buf, nil)
			if format == "json" {
				hd = slog.NewJSONHandler(&buf, nil)
			}
			log := slog.New(hd)
			log.Info("value", "v", h)
			log.Info("attr", slog.Any("v", h), slog.Group("g", "v", h))
			log.With("w", h).Info("with")
			log.Info(fmt.Sprint(h))
			check(name+" slog "+format, buf.String())
		}
	}
	// Where the Secret's own methods are reachable the placeholder shows.
	for _, tc := range []struct {
		what string
		got  string
	}{
		{"%v value", fmt.Sprintf("%v", v)},
		{"%#v value", fmt.Sprintf("%#v", v)},
		{"%d pointer", fmt.Sprintf("%d", p)},
		{"%+v Message", fmt.Sprintf("%+v", resetflow.Message{Secret: p})},
		{"%v []Secret", fmt.Sprintf("%v", []resetflow.Secret{v})},
		{"json value", func() string { b, _ := json.Marshal(v); return string(b) }()},
		{"json ActionResult", func() string { b, _ := json.Marshal(resetflow.ActionResult{Passcode: p}); return string(b) }()},
		{"json map", func() string { b, _ := json.Marshal(map[string]resetflow.Secret{"k": v}); return string(b) }()},
	} {
		if !strings.Contains(tc.got, "[secret]") {
			t.Errorf("%s = %s; want the [secret] placeholder", tc.what, tc.got)
		}
	}
	// The value is still there for the one place that reveals it.
	if p.Reveal() != pass || v.Reveal() != pass {
		t.Errorf("Reveal = %q / %q; want the passcode", p.Reveal(), v.Reveal())
	}
	var zero resetflow.Secret
	var nilp *resetflow.Secret
	if zero.Reveal() != "" || nilp.Reveal() != "" {
		t.Error("a zero or nil Secret reveals something")
	}
	t.Logf("%d formatting paths checked", paths)
}
