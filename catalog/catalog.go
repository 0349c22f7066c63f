// Package catalog holds every sentence the bot says, in Japanese and English.
// The files active.en.yaml and active.ja.yaml are embedded and parsed once, at
// start; a message is a string whose only actions are fields of the data,
// {{.Device}}, rendered as text/template would render them (render.go).
package catalog

import (
	"embed"
	"fmt"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed active.*.yaml
var files embed.FS

// Locales are the languages the catalogs cover.
var Locales = []string{"en", "ja"}

// Catalog renders messages by id in a locale.
type Catalog struct {
	def    string
	msgs   map[string]map[string]message // locale -> id -> message
	mu     sync.Mutex
	missed map[string]bool
	// helpdesk is what sentences call the helpdesk ({{.Helpdesk}}), per locale.
	helpdesk map[string]string
}

// DefaultHelpdeskNames are the helpdesk's name in each language unless the
// configuration's helpdesk_name says otherwise.
var DefaultHelpdeskNames = map[string]string{"en": "the helpdesk", "ja": "ヘルプデスク"}

// SetHelpdeskName sets what the sentences of locale call the helpdesk (one name
// for one team, e.g. "the IT Service Desk"). Call it before the catalog is used.
func (c *Catalog) SetHelpdeskName(locale, name string) error {
	l := c.Normalize(locale)
	if l != strings.ToLower(strings.TrimSpace(locale)) {
		return fmt.Errorf("helpdesk_name: %q is not one of %v", locale, Locales)
	}
	if strings.TrimSpace(name) != "" {
		c.helpdesk[l] = strings.TrimSpace(name)
	}
	return nil
}

// New loads the embedded catalogs. defaultLocale is used when a person's locale is unknown.
func New(defaultLocale string) (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]message{}, missed: map[string]bool{}, helpdesk: map[string]string{}}
	for _, l := range Locales {
		m, err := load("active." + l + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", l, err)
		}
		c.msgs[l] = m
	}
	for l, n := range DefaultHelpdeskNames {
		c.helpdesk[l] = n
	}
	c.def = c.Normalize(defaultLocale)
	if c.def == "" {
		return nil, fmt.Errorf("locale %q: not one of %v", defaultLocale, Locales)
	}
	return c, nil
}

// MustNew is New for tests and fixed defaults.
func MustNew(defaultLocale string) *Catalog {
	c, err := New(defaultLocale)
	if err != nil {
		panic(err)
	}
	return c
}

// Default is the locale used when a person's is unknown.
func (c *Catalog) Default() string { return c.def }

// Normalize maps a platform locale ("ja-JP", "en_US", "ja") to a catalog locale.
// It returns the default locale for anything else, and "" on a catalog without a default.
func (c *Catalog) Normalize(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	for _, known := range Locales {
		if l == known || strings.HasPrefix(l, known+"-") || strings.HasPrefix(l, known+"_") {
			return known
		}
	}
	if c == nil {
		return ""
	}
	return c.def
}

// T renders message id in locale with the template data, if any.
// A message missing from the catalog renders as its id, so a mistake is visible, never silent.
func (c *Catalog) T(locale, id string, data ...map[string]any) string {
	l := c.Normalize(locale)
	var d map[string]any
	if len(data) > 0 {
		d = data[0]
	}
	m, ok := c.msgs[l][id]
	var s string
	if ok {
		s, ok = m.render(func(k string) (any, bool) {
			if v, ok := d[k]; ok {
				return v, true
			}
			if k == "Helpdesk" {
				return c.helpdesk[l], true
			}
			return nil, false
		})
	}
	if !ok {
		c.mu.Lock()
		c.missed[id] = true
		c.mu.Unlock()
		return id
	}
	return s
}

// Missed lists ids that were asked for and not found; tests assert it stays empty.
func (c *Catalog) Missed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.missed {
		ids = append(ids, id)
	}
	return ids
}

// IDs lists the message ids of locale's catalog file.
func IDs(locale string) ([]string, error) {
	raw, err := files.ReadFile("active." + locale + ".yaml")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids, nil
}
