package catalog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseLines reads a catalog file written in the plain shape both catalogs
// use: comments, and "id: value" lines at the left margin whose value is a
// double-quoted or single-quoted string on one line, or a |- literal block.
// It gives what yaml.Unmarshal gives for such a file, without building YAML's
// node tree: parsing the catalogs was most of what the bot allocates at start,
// and memory touched at start stays in its idle RSS (issue 17). ok is false
// for anything outside that shape; load then uses the YAML decoder.
func parseLines(src string) (out map[string]string, ok bool) {
	out = map[string]string{}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		trimmed := strings.TrimLeft(line, " ")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if trimmed != line { // an indented line outside a block
			return nil, false
		}
		id, rest, found := strings.Cut(line, ":")
		if !found || !isID(id) {
			return nil, false
		}
		if _, dup := out[id]; dup {
			return nil, false
		}
		rest = strings.TrimLeft(rest, " ")
		var v string
		switch {
		case rest == "|-":
			var n int
			if v, n, ok = literal(lines[i+1:]); !ok {
				return nil, false
			}
			i += n
		case strings.HasPrefix(rest, `"`):
			if v, ok = doubleQuoted(rest); !ok {
				return nil, false
			}
		case strings.HasPrefix(rest, "'"):
			if v, ok = singleQuoted(rest); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		out[id] = v
	}
	return out, true
}

func isID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// literal reads a |- block: the lines indented more than the key, up to the
// first line that is not; it returns the text and how many lines it used.
func literal(lines []string) (string, int, bool) {
	indent := -1
	var kept []string
	n := 0
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if strings.TrimLeft(l, " ") == "" {
			if strings.ContainsAny(l, "\t") {
				return "", 0, false
			}
			kept = append(kept, "")
			n++
			continue
		}
		sp := len(l) - len(strings.TrimLeft(l, " "))
		if indent < 0 {
			if sp == 0 {
				break
			}
			indent = sp
		}
		if sp < indent {
			if sp != 0 {
				return "", 0, false // a less indented line that is not the next key
			}
			break
		}
		kept = append(kept, l[indent:])
		n++
	}
	if indent < 0 {
		return "", 0, false
	}
	// Strip chomping: no final line break, and no trailing empty lines; the
	// trailing empty lines belong to the block and are consumed with it.
	for len(kept) > 0 && kept[len(kept)-1] == "" {
		kept = kept[:len(kept)-1]
	}
	return strings.Join(kept, "\n"), n, true
}

// doubleQuoted reads a "..." scalar that ends on its line, with the escapes
// the catalogs use; anything else is left to the YAML decoder.
func doubleQuoted(s string) (string, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), restIsEmpty(s[i+1:])
		case '\\':
			if i+1 >= len(s) {
				return "", false
			}
			i++
			switch s[i] {
			case '"', '\\', '/':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if i+4 >= len(s) {
					return "", false
				}
				r, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", false
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				return "", false
			}
		case '\t':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false // not closed on its line
}

// singleQuoted reads a '...' scalar that ends on its line; a doubled quote is one quote.
func singleQuoted(s string) (string, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			if s[i] == '\t' {
				return "", false
			}
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), restIsEmpty(s[i+1:])
	}
	return "", false
}

// restIsEmpty: after a closing quote, only spaces, or spaces and a comment.
func restIsEmpty(s string) bool {
	t := strings.TrimLeft(s, " ")
	return t == "" || t[0] == '#' && len(t) < len(s)
}
