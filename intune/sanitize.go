package intune

import "strings"

// maxCodeLen bounds a code or id from Graph or Entra: real ones are short
// (ResourceNotFound, invalid_client, a GUID).
const maxCodeLen = 64

// cleanCode makes an error code, request id or action state that Graph or the
// token endpoint sent safe to put in a helpdesk alert, the audit trail and a
// log line: letters, digits and . _ - : only (every other character, newlines,
// markdown, <!channel> and the like, becomes '?'), and at most maxCodeLen
// characters ("..." marks a cut). A well-formed code passes unchanged.
func cleanCode(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !codeByte(s[i]) {
			clean = false
			break
		}
	}
	if clean && len(s) <= maxCodeLen {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxCodeLen {
			b.WriteString("...")
			break
		}
		if r < 0x80 && codeByte(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
		n++
	}
	return b.String()
}

func codeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':'
}
