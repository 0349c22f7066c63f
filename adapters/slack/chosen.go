package slack

import (
	"bytes"
	"encoding/json"
)

// chosenBlocks is the clicked message's blocks (as Slack sent them back in
// the click) without its actions blocks, its accessories and an earlier
// "chosen" line, then the line naming what was chosen: the message after a
// click. Each block is copied as it came, less its accessory; nothing is
// decoded but each block's type and block_id. Decoding the blocks into maps
// and encoding them again was most of a click's cost in the adapter (issue 17).
// The blocks come from a payload that json.Unmarshal took whole (parseClick),
// so they are valid JSON.
//
// gen is the block id suffix of the clicked button's blocks ("" for a message
// as posted; answer.go): the chosen line takes it, so the lines of earlier
// clicks on a message answered in place stay.
func chosenBlocks(blocks []json.RawMessage, chosen, gen string) []byte {
	n := 64 + len(chosen)
	for _, b := range blocks {
		n += len(b) + 1
	}
	w := blockJSON{b: make([]byte, 0, n)}
	for _, b := range blocks {
		b = trimSpace(b)
		if len(b) == 0 || b[0] != '{' {
			w.raw(b) // not a block; passed on as it came
			continue
		}
		var typ, id []byte
		accessory := false
		eachMember(b, func(keyAt, keyEnd, valAt, valEnd int) {
			switch string(unquote(b[keyAt:keyEnd])) {
			case "type":
				typ = unquote(b[valAt:valEnd])
			case "block_id":
				id = unquote(b[valAt:valEnd])
			case "accessory":
				accessory = true
			}
		})
		if string(typ) == "actions" || string(id) == "pcb_chosen"+gen {
			continue
		}
		if !accessory {
			w.raw(b)
			continue
		}
		w.raw([]byte{'{'})
		first := true
		eachMember(b, func(keyAt, keyEnd, _, valEnd int) {
			if string(unquote(b[keyAt:keyEnd])) == "accessory" {
				return
			}
			if !first {
				w.b = append(w.b, ',')
			}
			first = false
			w.b = append(w.b, b[keyAt:valEnd]...)
		})
		w.b = append(w.b, '}')
	}
	w.context("pcb_chosen"+gen, truncate(chosen, maxSectionText))
	return w.bytes()
}

// raw writes a block (or its start) as it is.
func (w *blockJSON) raw(b []byte) {
	if w.n == 0 {
		w.b = append(w.b, '[')
	} else {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, b...)
}

// eachMember calls f with the offsets of each member of the JSON object obj
// (valid JSON): where its key starts, where its value starts and ends.
func eachMember(obj []byte, f func(keyAt, keyEnd, valAt, valEnd int)) {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] != '}' {
		keyAt := i
		keyEnd := skipValue(obj, i)
		i = skipSpace(obj, keyEnd)
		i = skipSpace(obj, i+1) // the colon
		valAt := i
		i = skipValue(obj, i)
		f(keyAt, keyEnd, valAt, i)
		i = skipSpace(obj, i)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
}

// unquote is the JSON value v's text when it is a string (its bytes when it
// has no escape, else decoded), and nil when it is not a string.
func unquote(v []byte) []byte {
	if len(v) < 2 || v[0] != '"' {
		return nil
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1]
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil
	}
	return []byte(s)
}

// skipValue returns the offset just past the JSON value that starts at b[i]
// (valid JSON).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return i
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipValue(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // number, true, false, null
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func trimSpace(b []byte) []byte {
	return bytes.TrimRight(b[skipSpace(b, 0):], " \t\n\r")
}
