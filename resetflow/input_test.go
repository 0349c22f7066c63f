package resetflow

import "testing"

// TestParseText is the table of what people type and what the bot understands,
// in English and Japanese, as a keyboard or a Japanese input method types it.
func TestParseText(t *testing.T) {
	tests := []struct {
		in  string
		cmd command
		n   int
	}{
		// Numbers pick a device, also as a Japanese IME types them.
		{"1", cmdNumber, 1},
		{"１", cmdNumber, 1},
		{"１２", cmdNumber, 12},
		{" ２ ", cmdNumber, 2},
		{"2.", cmdNumber, 2},
		// Cancel, in every spelling we promise.
		{"cancel", cmdCancel, 0},
		{"Quit", cmdCancel, 0},
		{"exit", cmdCancel, 0},
		{"/quit", cmdCancel, 0},
		{"stop!", cmdCancel, 0},
		{"やめる", cmdCancel, 0},
		{"やめる。", cmdCancel, 0},
		{"キャンセル", cmdCancel, 0},
		{"ｃａｎｃｅｌ", cmdCancel, 0},
		{"中止", cmdCancel, 0},
		// Help.
		{"help", cmdHelp, 0},
		{"HELP?", cmdHelp, 0},
		{"ヘルプ", cmdHelp, 0},
		{"使い方", cmdHelp, 0},
		// Unlink.
		{"unlink", cmdUnlink, 0},
		{"連携解除", cmdUnlink, 0},
		// Start a reset.
		{"reset", cmdReset, 0},
		{"/reset", cmdReset, 0},
		{"reset my passcode", cmdReset, 0},
		{"I forgot my PIN", cmdReset, 0},
		{"forgot my pin, help!", cmdReset, 0},
		{"phone is locked", cmdReset, 0},
		{"please unlock my phone", cmdReset, 0},
		{"start", cmdReset, 0},
		{"ｒｅｓｅｔ", cmdReset, 0},
		{"パスコードを忘れました", cmdReset, 0},
		{"パスコードのリセット", cmdReset, 0},
		{"リセットしたい", cmdReset, 0},
		{"暗証番号を忘れた", cmdReset, 0},
		{"スマホのロックを解除したい", cmdReset, 0},
		// Keywords are whole words: these must not start a reset.
		{"I have an opinion", cmdUnknown, 0},
		{"restart the printer", cmdUnknown, 0},
		{"spinning wheel", cmdUnknown, 0},
		{"my passwords manager is slow", cmdUnknown, 0},
		{"what is the weather", cmdUnknown, 0},
		{"helpdesk phone number", cmdUnknown, 0},
		{"exit code 2", cmdUnknown, 0},
		{"こんにちは", cmdUnknown, 0},
		{"", cmdUnknown, 0},
		{"　", cmdUnknown, 0},
	}
	for _, tt := range tests {
		cmd, n := parseText(tt.in)
		if cmd != tt.cmd || n != tt.n {
			t.Errorf("parseText(%q) = %v, %d; want %v, %d", tt.in, cmd, n, tt.cmd, tt.n)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"１２３":            "123",
		"ＲＥＳＥＴ":          "reset",
		"a　 b":           "a b",
		"パスコード":          "パスコード",
		"Alice's iPhone": "alice's iphone",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q; want %q", in, got, want)
		}
	}
}
