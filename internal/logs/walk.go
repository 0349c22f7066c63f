package logs

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Bounds of the walk over a composite value: deeper or larger parts are cut
// (and then the walked copy is logged, never the original).
const (
	maxDepth = 8
	maxNodes = 512
	maxBytes = 64 << 10 // a []byte or json.RawMessage longer than this is not parsed
)

const truncated = "[truncated]"

// sanitize walks v (structs, maps, slices, arrays, pointers, interfaces,
// json.RawMessage and []byte, errors, Stringers, text marshalers) and returns a
// copy with every sensitive key's value replaced and every string scrubbed. It
// reports whether anything was replaced or cut; when not, the caller logs v itself.
func sanitize(v any) (any, bool) {
	w := walker{budget: maxNodes}
	out := w.walk(reflect.ValueOf(v), 0)
	return out, w.changed
}

type walker struct {
	budget  int
	changed bool
}

var (
	errorType     = reflect.TypeFor[error]()
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	logValuerType = reflect.TypeFor[slog.LogValuer]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	rawType       = reflect.TypeFor[json.RawMessage]()
)

func (w *walker) scrub(s string) string {
	c := Scrub(s)
	if c != s {
		w.changed = true
	}
	return c
}

func (w *walker) walk(v reflect.Value, depth int) (out any) {
	if !v.IsValid() {
		return nil
	}
	w.budget--
	if w.budget < 0 || depth > maxDepth {
		w.changed = true
		return truncated
	}
	// Values that say how they print: a LogValuer (a Secret), an error, a
	// Stringer or a text marshaler print their own text, scrubbed.
	if v.CanInterface() && !(v.Kind() == reflect.Pointer && v.IsNil()) && !(v.Kind() == reflect.Interface && v.IsNil()) {
		defer func() {
			if r := recover(); r != nil { // a method that panics on its value
				w.changed = true
				out = fmt.Sprintf("[%s: unprintable]", v.Type())
			}
		}()
		t := v.Type()
		if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && !implementsAny(t) && implementsAny(reflect.PointerTo(t)) {
			// A value whose String or Error has a pointer receiver (url.URL):
			// print it as fmt would print its address.
			p := reflect.New(t)
			p.Elem().Set(v)
			v, t = p, p.Type()
		}
		switch {
		case t.Implements(logValuerType):
			lv := v.Interface().(slog.LogValuer).LogValue().Resolve()
			if lv.Kind() == slog.KindAny {
				if _, ok := lv.Any().(slog.LogValuer); !ok {
					return w.walk(reflect.ValueOf(lv.Any()), depth+1)
				}
			}
			w.changed = true // the value's log form replaces the value
			return w.scrub(lv.String())
		case t.Implements(errorType):
			return w.scrubbedText(v.Interface().(error).Error())
		case t == rawType:
			return w.bytes(v.Bytes(), depth)
		case t.Implements(stringerType):
			return w.scrubbedText(v.Interface().(fmt.Stringer).String())
		case t.Implements(textType):
			b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
			if err == nil {
				return w.scrubbedText(string(b))
			}
		}
	}
	switch v.Kind() {
	case reflect.String:
		return w.scrub(v.String())
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Complex64, reflect.Complex128:
		return fmt.Sprint(v.Complex())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return w.walk(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return w.bytes(b, depth)
		}
		n := v.Len()
		list := make([]any, 0, min(n, w.budget+1))
		for i := 0; i < n; i++ {
			if w.budget <= 0 {
				w.changed = true
				list = append(list, truncated)
				break
			}
			list = append(list, w.walk(v.Index(i), depth+1))
		}
		return list
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		m := make(map[string]any, min(v.Len(), w.budget+1))
		it := v.MapRange()
		for it.Next() {
			if w.budget <= 0 {
				w.changed = true
				m["…"] = truncated
				break
			}
			k := w.key(it.Key())
			m[k] = w.field(k, it.Value(), depth)
		}
		return m
	case reflect.Struct:
		t := v.Type()
		m := make(map[string]any, t.NumField())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				if n, _, _ := cutComma(tag); n != "" && n != "-" {
					name = n
				}
			}
			m[name] = w.field(f.Name+" "+name, v.Field(i), depth)
		}
		return m
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return v.Type().String()
	}
	return v.Type().String()
}

// field walks a map value or struct field, redacting it outright when its name
// (names, for a struct field's Go and JSON names) is sensitive.
func (w *walker) field(names string, v reflect.Value, depth int) any {
	for _, n := range splitSpace(names) {
		if sensitiveKey.MatchString(n) {
			if !isEmpty(v) {
				w.changed = true
				return redacted
			}
		}
	}
	return w.walk(v, depth+1)
}

// key renders a map key as text, scrubbed.
func (w *walker) key(k reflect.Value) string {
	switch k.Kind() {
	case reflect.String:
		return w.scrub(k.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	}
	s, _ := w.walk(k, maxDepth).(string)
	if s == "" {
		s = fmt.Sprint(w.walk(k, maxDepth))
	}
	return s
}

// scrubbedText is a method's text output, scrubbed.
func (w *walker) scrubbedText(s string) string { return w.scrub(s) }

// bytes is a []byte or json.RawMessage: JSON is walked (so its keys count),
// anything else is scrubbed as text.
func (w *walker) bytes(b []byte, depth int) any {
	if len(b) <= maxBytes && json.Valid(b) {
		var x any
		if json.Unmarshal(b, &x) == nil {
			sub := walker{budget: w.budget}
			out := sub.walk(reflect.ValueOf(x), depth+1)
			w.budget = sub.budget
			if sub.changed {
				w.changed = true
				enc, err := json.Marshal(out)
				if err == nil {
					return json.RawMessage(enc)
				}
				return redacted
			}
			return json.RawMessage(b)
		}
	}
	if !utf8.Valid(b) {
		w.changed = true
		return fmt.Sprintf("[%d bytes]", len(b))
	}
	if len(b) > maxBytes {
		w.changed = true
		b = b[:maxBytes]
	}
	return w.scrub(string(b))
}

func implementsAny(t reflect.Type) bool {
	return t.Implements(errorType) || t.Implements(stringerType) || t.Implements(textType)
}

func isEmpty(v reflect.Value) bool {
	if !v.IsValid() {
		return true
	}
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

func cutComma(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func splitSpace(s string) []string {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return []string{s[:i], s[i+1:]}
		}
	}
	return []string{s}
}
