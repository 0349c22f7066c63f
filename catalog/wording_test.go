package catalog_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/catalog"
)

var sample = map[string]any{"Device": "D", "Until": "09:05 UTC", "Minutes": 5, "Max": 3, "Count": 2, "N": 7, "Model": "M", "OS": "iOS",
	"Version": "1", "LastSync": "x", "UPN": "u@x", "Who": "w", "Choice": "c", "Reason": "r", "User": "u", "Users": "a, b", "File": "f", "Elapsed": "0:42", "When": "2026-11-25 09:00"}

// employeeFacing: messages an employee reads (the helpdesk's alerts are for the helpdesk).
func employeeFacing(id string) bool {
	return !strings.HasPrefix(id, "alert_")
}

func rendered(t *testing.T, c *catalog.Catalog, loc string) map[string]string {
	t.Helper()
	ids, err := catalog.IDs(loc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, id := range ids {
		out[id] = c.T(loc, id, sample)
	}
	return out
}

// TestOneNameForTheHelpdesk: the helpdesk has one name, the configured one, in both
// languages; "company support" (会社のサポート) is gone.
func TestOneNameForTheHelpdesk(t *testing.T) {
	c := catalog.MustNew("en")
	names := map[string]string{"en": "the IT Service Desk", "ja": "IT サービス デスク"}
	for loc, n := range names {
		if err := c.SetHelpdeskName(loc, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetHelpdeskName("fr", "x"); err == nil {
		t.Errorf("a helpdesk name for an unknown language was accepted")
	}
	for _, loc := range catalog.Locales {
		named := 0
		for id, s := range rendered(t, c, loc) {
			if !employeeFacing(id) {
				continue
			}
			for _, other := range []string{"company support", "会社のサポート", "the helpdesk", "ヘルプデスク"} {
				if strings.Contains(s, other) {
					t.Errorf("%s/%s calls the helpdesk %q, not its configured name: %q", loc, id, other, s)
				}
			}
			if strings.Contains(s, names[loc]) {
				named++
			}
		}
		if named < 15 {
			t.Errorf("%s: only %d messages name the helpdesk; the scan is broken", loc, named)
		}
	}
	// By default the name is the plain word.
	d := catalog.MustNew("ja")
	if s := d.T("ja", "unknown_user"); !strings.Contains(s, "ヘルプデスクにお問い合わせください") {
		t.Errorf("default Japanese name: %q", s)
	}
	if s := d.T("en", "unknown_user"); !strings.Contains(s, "contact the helpdesk") {
		t.Errorf("default English name: %q", s)
	}
}

// Product names, commands and identifiers that stay in Latin letters in Japanese.
var latinAllowed = regexp.MustCompile(`Company Portal|Windows Hello|Windows Phone|Windows 10 Mobile|Touch ID|Face ID|Android Enterprise|Ctrl-D|` +
	`passcodebot|Intune|Android|iOS|iPadOS|Windows|Slack|Discord|exit|reset-passcode|/as|UTC|UPN`)

var englishRun = regexp.MustCompile(`[A-Za-z]{2,}(?:[ ,.'-]+[A-Za-z]{2,}){2,}`)

// TestJapaneseCatalogIsJapanese fails on a sentence left in English in the
// Japanese catalog (product names aside), and on the wording the Japanese team
// settled: 連携 for accounts, 入力 for typing, 通知しました for automatic alerts.
func TestJapaneseCatalogIsJapanese(t *testing.T) {
	c := catalog.MustNew("ja")
	jp := regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}]`)
	for id, s := range rendered(t, c, "ja") {
		if id == "discord_command_name" {
			continue // Discord needs a lower-case Latin or kana name; checked by the Discord adapter
		}
		rest := latinAllowed.ReplaceAllString(s, "")
		if m := englishRun.FindString(rest); m != "" {
			t.Errorf("ja/%s has English in it (%q): %q", id, m, s)
		}
		if !jp.MatchString(s) && len(strings.TrimSpace(rest)) > 3 {
			t.Errorf("ja/%s is not Japanese: %q", id, s)
		}
		for _, bad := range []string{"」と書", "と書いて", "リンクし", "リンクさ", "リンクを削除", "リンクは記憶", "ヘルプデスクに連絡しました", "ヘルプデスクにも連絡しました", "会社のサポート"} {
			if strings.Contains(s, bad) {
				t.Errorf("ja/%s says %q: %q", id, bad, s)
			}
		}
	}
}

// TestNoClaimNamesForEmployees: raw protocol words such as auth_time never reach an employee.
func TestNoClaimNamesForEmployees(t *testing.T) {
	c := catalog.MustNew("en")
	for _, loc := range catalog.Locales {
		for id, s := range rendered(t, c, loc) {
			if !employeeFacing(id) {
				continue
			}
			for _, word := range []string{"auth_time", "claim", "クレーム", "oid", "nonce"} {
				if regexp.MustCompile(`\b` + word + `\b`).MatchString(s) {
					t.Errorf("%s/%s shows %q to an employee: %q", loc, id, word, s)
				}
			}
		}
	}
}
