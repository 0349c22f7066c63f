package resetflow

import (
	"strconv"
	"strings"
	"unicode"
)

// Words that mean one command when they are the whole input.
var (
	cancelWords = []string{"cancel", "stop", "quit", "exit", "abort", "キャンセル", "やめる", "やめます", "やめて", "中止", "取り消し", "とりけし", "終了"}
	helpWords   = []string{"help", "ヘルプ", "使い方", "へるぷ", "h"}
	unlinkWords = []string{"unlink", "リンク解除", "連携解除", "連携を解除"}
	// resetWords start a reset when one of them is a whole word of a longer input.
	resetWords = []string{"reset", "passcode", "password", "pin", "unlock", "start", "locked"}
	// resetWordsJa match anywhere: Japanese has no spaces between words, and these
	// are long enough not to be part of an unrelated word.
	resetWordsJa = []string{"リセット", "パスコード", "パスワード", "暗証番号", "ロック解除", "ロックを解除"}
)

// normalize folds what an input method types into what the parser expects:
// full-width ASCII (１, ｒｅｓｅｔ, the ideographic space) becomes ASCII, letters lower case.
func normalize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width forms of ASCII 0x21..0x7E
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// parseText recognises what a person typed. A short input is a command word or a
// number; a longer one starts a reset when it names one (whole words only).
func parseText(s string) (command, int) {
	t := normalize(s)
	t = strings.TrimPrefix(t, "/")
	t = strings.Trim(t, " .!?。！？、")
	if t == "" {
		return cmdUnknown, 0
	}
	if n, err := strconv.Atoi(t); err == nil {
		return cmdNumber, n
	}
	switch {
	case contains(cancelWords, t):
		return cmdCancel, 0
	case contains(helpWords, t):
		return cmdHelp, 0
	case contains(unlinkWords, t):
		return cmdUnlink, 0
	}
	for _, w := range strings.FieldsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if contains(resetWords, w) {
			return cmdReset, 0
		}
	}
	for _, kw := range resetWordsJa {
		if strings.Contains(t, kw) {
			return cmdReset, 0
		}
	}
	return cmdUnknown, 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// deviceByName returns the 1-based number of the offered device whose name the
// person typed (case and width ignored), or 0 when there is no single match.
// A device name that is the whole input wins; otherwise a name that starts with
// or contains the input, when only one does.
func (e *Engine) deviceByName(from Address, text string) int {
	t := strings.Trim(normalize(text), " .!?。！？「」\"'")
	if t == "" {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.convs[from.key()]
	if c == nil || c.step != stepPicking {
		return 0
	}
	found := 0
	for i, d := range c.devices {
		name := normalize(d.Name)
		if name == t {
			return i + 1
		}
		if len([]rune(t)) >= 3 && strings.Contains(name, t) {
			if found != 0 {
				return 0 // ambiguous
			}
			found = i + 1
		}
	}
	return found
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if (r >= 0x3040 && r <= 0x30ff) || (r >= 0x4e00 && r <= 0x9fff) || (r >= 0xff66 && r <= 0xff9f) {
			return true
		}
	}
	return false
}

type command int

const (
	cmdUnknown command = iota
	cmdReset
	cmdHelp
	cmdCancel
	cmdNumber
	cmdUnlink
)
