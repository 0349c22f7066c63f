package teams_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var updateIcons = flag.Bool("update-icons", false, "write appPackage/color.png and outline.png from the drawing code")

// TestManifestValidAgainstSchema: the app package's manifest.json is valid
// against the manifest schema in testdata (our own, written from Microsoft's manifest reference, version 1.29) and
// says what the bot needs: a bot in the personal and team scopes, the command
// menu, valid domains, and the two icons.
func TestManifestValidAgainstSchema(t *testing.T) {
	schema := loadJSON(t, "testdata/manifest.schema.json").(map[string]any)
	manifest := loadJSON(t, "appPackage/manifest.json")
	if errs := validate(schema, manifest); len(errs) > 0 {
		t.Fatalf("manifest.json is not valid against the schema:\n%s", strings.Join(errs, "\n"))
	}
	m := manifest.(map[string]any)
	wantVersion := schema["properties"].(map[string]any)["manifestVersion"].(map[string]any)["const"]
	if m["manifestVersion"] != wantVersion || !strings.Contains(m["$schema"].(string), "/v"+wantVersion.(string)+"/") {
		t.Errorf("manifestVersion %v, $schema %v; want the schema's %v", m["manifestVersion"], m["$schema"], wantVersion)
	}
	b := m["bots"].([]any)[0].(map[string]any)
	if got := fmt.Sprint(b["scopes"]); got != "[personal team]" {
		t.Errorf("bot scopes %s; want personal and team", got)
	}
	var titles []string
	for _, c := range b["commandLists"].([]any)[0].(map[string]any)["commands"].([]any) {
		titles = append(titles, c.(map[string]any)["title"].(string))
	}
	if !slices.Equal(titles, []string{"reset", "help", "cancel"}) {
		t.Errorf("commands %q", titles)
	}
	if d, _ := m["validDomains"].([]any); len(d) == 0 {
		t.Error("no validDomains")
	}
	for file, size := range map[string]int{"color.png": 192, "outline.png": 32} {
		f, err := os.Open(filepath.Join("appPackage", file))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
			t.Errorf("%s is %dx%d; want %dx%d", file, b.Dx(), b.Dy(), size, size)
		}
		if file == "outline.png" {
			// Teams wants white on transparent.
			for y := range size {
				for x := range size {
					r, g, bl, a := img.At(x, y).RGBA()
					if a != 0 && (r != a || g != a || bl != a) {
						t.Fatalf("outline.png has a non-white pixel at %d,%d", x, y)
					}
				}
			}
		}
	}
}

// TestSchemaValidatorRefuses: the validator is no rubber stamp: broken
// manifests fail it, each for its reason.
func TestSchemaValidatorRefuses(t *testing.T) {
	schema := loadJSON(t, "testdata/manifest.schema.json").(map[string]any)
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"older manifest version", func(m map[string]any) { m["manifestVersion"] = "1.17" }, "/manifestVersion"},
		{"bot id not a GUID", func(m map[string]any) { botOf(m)["botId"] = "passcodebot" }, "/bots/0/botId"},
		{"unknown scope", func(m map[string]any) { botOf(m)["scopes"] = []any{"personal", "everyone"} }, "/bots/0/scopes/1"},
		{"unknown key", func(m map[string]any) { m["colour"] = "blue" }, "colour"},
		{"no icons", func(m map[string]any) { delete(m, "icons") }, "icons"},
		{"short name too long", func(m map[string]any) { m["name"].(map[string]any)["short"] = strings.Repeat("x", 31) }, "/name/short"},
		{"accent color", func(m map[string]any) { m["accentColor"] = "blue" }, "/accentColor"},
		{"too many commands", func(m map[string]any) {
			cl := botOf(m)["commandLists"].([]any)[0].(map[string]any)
			var many []any
			for i := range 13 {
				many = append(many, map[string]any{"title": "c" + strconv.Itoa(i)})
			}
			cl["commands"] = many
		}, "/bots/0/commandLists/0/commands"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := loadJSON(t, "appPackage/manifest.json").(map[string]any)
			tc.mutate(m)
			errs := validate(schema, m)
			if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("errors %q; want one about %s", errs, tc.want)
			}
		})
	}
}

func botOf(m map[string]any) map[string]any { return m["bots"].([]any)[0].(map[string]any) }

func loadJSON(t *testing.T, file string) any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// validate checks a JSON value against a draft-04 schema, for the keywords
// Microsoft's manifest schema uses. A keyword it does not know is an error,
// so nothing is skipped silently.
func validate(schema map[string]any, v any) []string {
	s := &schemaCheck{root: schema}
	s.check(schema, v, "")
	return s.errs
}

type schemaCheck struct {
	root map[string]any
	errs []string
}

func (s *schemaCheck) fail(path, format string, args ...any) {
	s.errs = append(s.errs, path+": "+fmt.Sprintf(format, args...))
}

// annotations carry no constraint.
var annotations = map[string]bool{"description": true, "default": true, "$schema": true, "id": true, "title": true, "format": true, "examples": true, "definitions": true, "deprecationMessage": true}

func (s *schemaCheck) resolve(ref string) map[string]any {
	var cur any = s.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

func typeOK(want string, v any) bool {
	got := jsonType(v)
	return got == want || (want == "number" && got == "integer")
}

func (s *schemaCheck) valid(schema map[string]any, v any) bool {
	sub := &schemaCheck{root: s.root}
	sub.check(schema, v, "")
	return len(sub.errs) == 0
}

func (s *schemaCheck) check(schema map[string]any, v any, path string) {
	if ref, ok := schema["$ref"].(string); ok {
		target := s.resolve(ref)
		if target == nil {
			s.fail(path, "unresolvable $ref %s", ref)
			return
		}
		s.check(target, v, path) // draft-04: siblings of $ref are ignored
		return
	}
	for k, kv := range schema {
		switch k {
		case "type":
			ok := false
			switch t := kv.(type) {
			case string:
				ok = typeOK(t, v)
			case []any:
				for _, e := range t {
					ok = ok || typeOK(e.(string), v)
				}
			}
			if !ok {
				s.fail(path, "is %s, want %v", jsonType(v), kv)
			}
		case "enum":
			if !slices.ContainsFunc(kv.([]any), func(e any) bool { return reflect.DeepEqual(e, v) }) {
				s.fail(path, "%v is not one of %v", v, kv)
			}
		case "const":
			if !reflect.DeepEqual(kv, v) {
				s.fail(path, "%v is not %v", v, kv)
			}
		case "maxLength", "minLength":
			if str, ok := v.(string); ok {
				n, lim := utf8.RuneCountInString(str), int(kv.(float64))
				if (k == "maxLength" && n > lim) || (k == "minLength" && n < lim) {
					s.fail(path, "length %d breaks %s %d", n, k, lim)
				}
			}
		case "pattern":
			if str, ok := v.(string); ok {
				re, err := regexp.Compile(kv.(string))
				if err != nil {
					s.fail(path, "pattern %q is not supported: %v", kv, err)
				} else if !re.MatchString(str) {
					s.fail(path, "%q does not match %s", str, kv)
				}
			}
		case "maximum", "minimum":
			if n, ok := v.(float64); ok {
				lim := kv.(float64)
				if (k == "maximum" && n > lim) || (k == "minimum" && n < lim) {
					s.fail(path, "%v breaks %s %v", n, k, lim)
				}
			}
		case "items":
			arr, ok := v.([]any)
			if !ok {
				continue
			}
			switch it := kv.(type) {
			case map[string]any:
				for i, e := range arr {
					s.check(it, e, path+"/"+strconv.Itoa(i))
				}
			case []any:
				for i, e := range arr {
					if i < len(it) {
						s.check(it[i].(map[string]any), e, path+"/"+strconv.Itoa(i))
					}
				}
			}
		case "maxItems", "minItems":
			if arr, ok := v.([]any); ok {
				n, lim := len(arr), int(kv.(float64))
				if (k == "maxItems" && n > lim) || (k == "minItems" && n < lim) {
					s.fail(path, "%d items break %s %d", n, k, lim)
				}
			}
		case "uniqueItems":
			if arr, ok := v.([]any); ok && kv == true {
				for i := range arr {
					for j := i + 1; j < len(arr); j++ {
						if reflect.DeepEqual(arr[i], arr[j]) {
							s.fail(path, "items %d and %d are equal", i, j)
						}
					}
				}
			}
		case "properties":
			if obj, ok := v.(map[string]any); ok {
				for name, ps := range kv.(map[string]any) {
					if pv, has := obj[name]; has {
						s.check(ps.(map[string]any), pv, path+"/"+name)
					}
				}
			}
		case "additionalProperties":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			props, _ := schema["properties"].(map[string]any)
			for name, pv := range obj {
				if _, known := props[name]; known {
					continue
				}
				switch ap := kv.(type) {
				case bool:
					if !ap {
						s.fail(path, "unknown property %q", name)
					}
				case map[string]any:
					s.check(ap, pv, path+"/"+name)
				}
			}
		case "required":
			if obj, ok := v.(map[string]any); ok {
				for _, r := range kv.([]any) {
					if _, has := obj[r.(string)]; !has {
						s.fail(path, "required property %q is missing", r)
					}
				}
			}
		case "minProperties":
			if obj, ok := v.(map[string]any); ok && len(obj) < int(kv.(float64)) {
				s.fail(path, "fewer than %v properties", kv)
			}
		case "dependencies":
			obj, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for name, dep := range kv.(map[string]any) {
				if _, has := obj[name]; !has {
					continue
				}
				switch d := dep.(type) {
				case []any:
					for _, r := range d {
						if _, has := obj[r.(string)]; !has {
							s.fail(path, "%q needs %q", name, r)
						}
					}
				case map[string]any:
					s.check(d, v, path)
				}
			}
		case "anyOf", "oneOf", "allOf":
			n := 0
			for _, alt := range kv.([]any) {
				if s.valid(alt.(map[string]any), v) {
					n++
				}
			}
			all := len(kv.([]any))
			if (k == "anyOf" && n == 0) || (k == "oneOf" && n != 1) || (k == "allOf" && n != all) {
				s.fail(path, "%s: %d of %d alternatives match", k, n, all)
			}
		case "not":
			if s.valid(kv.(map[string]any), v) {
				s.fail(path, "matches a schema it must not")
			}
		case "if":
			if s.valid(kv.(map[string]any), v) {
				if th, ok := schema["then"].(map[string]any); ok {
					s.check(th, v, path)
				}
			} else if el, ok := schema["else"].(map[string]any); ok {
				s.check(el, v, path)
			}
		case "then", "else":
			// with "if"
		default:
			if !annotations[k] {
				s.fail(path, "the validator does not know the keyword %q", k)
			}
		}
	}
}

// --- the icons ---

// accent is the manifest's accentColor, #0F6CBD.
var accent = color.NRGBA{0x0F, 0x6C, 0xBD, 0xFF}

// drawPadlock draws a padlock of size n: the shackle (a half ring) over the
// body (a rounded square with a keyhole). fg is its colour; bg fills the rest.
func drawPadlock(n int, fg, bg color.NRGBA, outline bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	f := float64(n)
	stroke := math.Max(1.5, f*0.07)
	cx := f / 2
	bodyTop, bodyBottom, bodyL, bodyR := f*0.45, f*0.86, f*0.2, f*0.8
	shR := f * 0.2
	shCy := bodyTop
	for y := range n {
		for x := range n {
			px, py := float64(x)+0.5, float64(y)+0.5
			c := bg
			inBody := px >= bodyL && px <= bodyR && py >= bodyTop && py <= bodyBottom
			edge := px < bodyL+stroke || px > bodyR-stroke || py < bodyTop+stroke || py > bodyBottom-stroke
			d := math.Hypot(px-cx, py-shCy)
			inShackle := py <= shCy+stroke && math.Abs(d-shR) <= stroke/2
			keyhole := math.Hypot(px-cx, py-(bodyTop+bodyBottom)/2) <= f*0.06 ||
				(math.Abs(px-cx) <= f*0.025 && py >= (bodyTop+bodyBottom)/2 && py <= bodyBottom-f*0.08)
			switch {
			case inShackle:
				c = fg
			case inBody && outline && edge:
				c = fg
			case inBody && outline && keyhole:
				c = fg
			case inBody && !outline && !keyhole:
				c = fg
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func iconPNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// TestIconsAreDrawn: the committed icons are what the drawing code makes
// (go test -run TestIconsAreDrawn -update-icons writes them).
func TestIconsAreDrawn(t *testing.T) {
	white := color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	icons := map[string][]byte{
		"color.png":   iconPNG(drawPadlock(192, white, accent, false)),
		"outline.png": iconPNG(drawPadlock(32, white, color.NRGBA{}, true)),
	}
	for file, want := range icons {
		p := filepath.Join("appPackage", file)
		if *updateIcons {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Pixels, not bytes: the PNG encoder's output may change between Go releases.
		gi, err1 := png.Decode(bytes.NewReader(got))
		wi, err2 := png.Decode(bytes.NewReader(want))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", p, err1, err2)
		}
		if !samePixels(gi, wi) {
			t.Errorf("%s differs from the drawing; run go test -run TestIconsAreDrawn -update-icons", p)
		}
	}
}

// samePixels reports whether two images have the same bounds and colours.
func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}
