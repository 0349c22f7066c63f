package catalog_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestCatalogsMatch: every message exists in Japanese and in English.
func TestCatalogsMatch(t *testing.T) {
	en, err := catalog.IDs("en")
	if err != nil {
		t.Fatal(err)
	}
	ja, err := catalog.IDs("ja")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(en)
	slices.Sort(ja)
	for _, id := range en {
		if !slices.Contains(ja, id) {
			t.Errorf("%s: in English, missing in Japanese", id)
		}
	}
	for _, id := range ja {
		if !slices.Contains(en, id) {
			t.Errorf("%s: in Japanese, missing in English", id)
		}
	}
}

// auditSteps are strings of the same shape that name audit trail steps, not messages.
var auditSteps = map[string]bool{"alert_ack": true}

// TestEveryUsedIDExists scans the Go sources for catalog ids, literal and built
// from a prefix, and checks both catalogs have them.
func TestEveryUsedIDExists(t *testing.T) {
	ids := map[string]bool{}
	lit := regexp.MustCompile(`\.T\([^,()]+, "([a-z0-9_]+)"[,)]`)
	arg := regexp.MustCompile(`"((?:page|alert|shell|refused|button|expired|signin)_[a-z0-9_]*)"`)
	root := ".."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			ids[m[1]] = true
		}
		for _, m := range arg.FindAllStringSubmatch(string(src), -1) {
			if !strings.HasSuffix(m[1], "_") && !auditSteps[m[1]] {
				ids[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Ids built at run time from a prefix and a value.
	for o := range resetflow.Outcomes {
		ids["guide_"+string(o)] = true
		if resetflow.Outcomes[o].TemporaryPasscode {
			ids["passcode_intro_"+string(o)] = true
		} else {
			ids["removed_"+string(o)] = true
		}
	}
	for _, d := range []resetflow.Decision{resetflow.ContactSupport, resetflow.FactoryReset, resetflow.NotSupported} {
		ids["denied_"+string(d)] = true
	}
	for _, k := range []resetflow.AlertKind{resetflow.AlertContactSupport, resetflow.AlertFactoryReset, resetflow.AlertNotSupported,
		resetflow.AlertLimitReached, resetflow.AlertWrongPerson, resetflow.AlertResetFailed, resetflow.AlertResetTimedOut,
		resetflow.AlertBackendError, resetflow.AlertAuditDown, resetflow.AlertResetUnknown,
		resetflow.AlertAccountLinked, resetflow.AlertLinkRefused, resetflow.AlertDeliveryFailed, resetflow.AlertsFolded} {
		ids["alert_title_"+string(k)] = true
	}
	for _, s := range []string{"picking", "signing_in", "confirming", "resetting", "linking", "pairing"} {
		ids["step_"+s] = true
	}
	for _, s := range []string{"page_success", "page_expired", "page_unknown", "page_wrong_person", "page_stale", "page_error", "page_pairing", "page_other_browser", "page_not_found", "page_busy"} {
		ids[s+"_title"] = true
	}
	for _, loc := range catalog.Locales {
		have, _ := catalog.IDs(loc)
		for id := range ids {
			if !slices.Contains(have, id) {
				t.Errorf("%s: used by the code, missing in %s", id, loc)
			}
		}
	}
	if len(ids) < 60 {
		t.Fatalf("found only %d ids: the scan is broken", len(ids))
	}
}

// TestTemplatesRender renders every message with sample data in both languages.
func TestTemplatesRender(t *testing.T) {
	c := catalog.MustNew("en")
	data := map[string]any{"Device": "D", "Until": "09:05 UTC", "Minutes": 5, "Max": 3, "Count": 2, "N": 7, "Model": "M", "OS": "iOS",
		"Version": "1", "LastSync": "x", "UPN": "u@x", "Who": "w", "Choice": "c", "Reason": "r", "User": "u", "Users": "a, b",
		"Platform": "Discord", "Account": "Alice (@alice)", "Digits": 6, "Left": 2, "Since": "09:00 UTC", "File": "f", "Elapsed": "0:42", "When": "2026-11-25 09:00"}
	for _, loc := range catalog.Locales {
		ids, _ := catalog.IDs(loc)
		for _, id := range ids {
			got := c.T(loc, id, data)
			if got == id || strings.Contains(got, "<no value>") || strings.TrimSpace(got) == "" {
				t.Errorf("%s/%s renders as %q", loc, id, got)
			}
		}
	}
	if m := c.Missed(); len(m) > 0 {
		t.Errorf("missed %v", m)
	}
}

func TestNormalize(t *testing.T) {
	c := catalog.MustNew("ja")
	for in, want := range map[string]string{"ja": "ja", "ja-JP": "ja", "en_US": "en", "EN-GB": "en", "fr": "ja", "": "ja"} {
		if got := c.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q; want %q", in, got, want)
		}
	}
	if _, err := catalog.New("de"); err == nil {
		t.Errorf("New(de) succeeded")
	}
}
