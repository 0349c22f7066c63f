// Package console is the helpdesk's web console: an overview of how
// self-service resets are going (charts drawn on the server as SVG, with a
// table behind each), the queue of helpdesk alerts (take, resolve with a note:
// the same state the chat "I'm on it" buttons change), and the audit trail of
// a person, device or flow, exportable as CSV or JSON.
//
// Only members of configured groups or app roles (from the ID token of the
// company's OIDC provider) get in; the demo (reauth: local) lets a loudly
// named demo helpdesk user in. Every console action is in the audit trail.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Path is where the console is mounted.
const Path = "/console"

// CallbackPath is the console's own OIDC redirect path (register the public
// URL + CallbackPath with the provider, beside the sign-in link's).
const CallbackPath = Path + "/oidc/callback"

// Config is the `console:` section of the configuration file.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Listener is where the console is served: "public" (http.listen) or
	// "admin" (http.admin_listen, a private address).
	Listener      string        `yaml:"listener"`
	AllowedGroups []string      `yaml:"allowed_groups"` // group object ids from the ID token's groups claim
	AllowedRoles  []string      `yaml:"allowed_roles"`  // app role values from the roles claim
	IdleTimeout   time.Duration `yaml:"idle_timeout"`
	// RedirectURI is the console's OIDC redirect URI; empty: http.public_url + CallbackPath.
	RedirectURI string `yaml:"redirect_uri"`
}

// Validate checks the section; errors name the key.
func (c Config) Validate(oidcSignIn bool) error {
	if !c.Enabled {
		return nil
	}
	switch c.Listener {
	case "public", "admin":
	default:
		return fmt.Errorf("console.listener: %q is not public or admin", c.Listener)
	}
	if c.IdleTimeout < time.Minute || c.IdleTimeout > 8*time.Hour {
		return fmt.Errorf("console.idle_timeout: %v must be between 1m and 8h", c.IdleTimeout)
	}
	if oidcSignIn && len(c.AllowedGroups) == 0 && len(c.AllowedRoles) == 0 {
		return errors.New("console.allowed_groups, console.allowed_roles: at least one group or role is needed, or nobody can sign in")
	}
	if c.RedirectURI != "" {
		u, err := url.Parse(c.RedirectURI)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(u.Path, CallbackPath) {
			return fmt.Errorf("console.redirect_uri: %q must be an absolute URL ending in %s", c.RedirectURI, CallbackPath)
		}
	}
	return nil
}

// Options are what the console needs besides its Config.
type Options struct {
	Store    Store
	Recorder resetflow.Recorder // audit trail of console actions
	Catalog  *catalog.Catalog
	Location *time.Location
	Clock    clock.Clock
	Log      *slog.Logger
	// OIDC signs helpdesk members in; nil with Demo.
	OIDC *OIDC
	// Demo lets the demo helpdesk user in (reauth: local only).
	Demo bool
	// OnTaken tells the chat channels that an alert was taken in the console.
	OnTaken func(ctx context.Context, alertID, who string)
	// TrailLimit bounds the events one trail page shows (default 500).
	TrailLimit int
}

// Server serves the console.
type Server struct {
	cfg      Config
	o        Options
	sessions *sessions
	pending  *pendingLogins
}

// New returns the console server.
func New(cfg Config, o Options) (*Server, error) {
	if o.Store == nil || o.Catalog == nil || o.Recorder == nil {
		return nil, errors.New("console: store, recorder and catalog are needed")
	}
	if o.OIDC == nil && !o.Demo {
		return nil, errors.New("console: needs the OIDC sign-in (reauth: oidc) or the demo (reauth: local)")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.TrailLimit <= 0 {
		o.TrailLimit = 500
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	return &Server{cfg: cfg, o: o, sessions: newSessions(o.Clock, cfg.IdleTimeout), pending: newPendingLogins(o.Clock)}, nil
}

//go:embed templates/console.css
var assets embed.FS

// Register mounts the console on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path+"/assets/console.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		css, _ := assets.ReadFile("templates/console.css")
		w.Write(css)
	})
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, Path+"/", http.StatusSeeOther) })
	mux.HandleFunc("GET "+Path+"/{$}", s.member(s.overview))
	mux.HandleFunc("GET "+Path+"/alerts", s.member(s.alerts))
	mux.HandleFunc("POST "+Path+"/alerts/{id}/take", s.member(s.take))
	mux.HandleFunc("POST "+Path+"/alerts/{id}/resolve", s.member(s.resolve))
	mux.HandleFunc("GET "+Path+"/trail", s.member(s.trail))
	mux.HandleFunc("GET "+Path+"/trail/export", s.member(s.export))
	mux.HandleFunc("GET "+Path+"/flow/{flow}", s.member(s.flow))
	mux.HandleFunc("POST "+Path+"/signout", s.member(s.signout))
	mux.HandleFunc("GET "+Path+"/signin", s.signin)
	mux.HandleFunc("GET "+CallbackPath, s.callback)
	mux.HandleFunc("POST "+Path+"/demo-signin", s.demoSignin)
}

// headers are sent with every console response: nothing cached, nothing
// framed, no referrer, no script, no inline style.
func (s *Server) headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

// audit records a console action. A console action whose record fails is refused.
func (s *Server) audit(ctx context.Context, who, action, detail string) error {
	ev := resetflow.Event{Time: s.o.Clock.Now(), Step: "console", Platform: "console", ChatUser: who, Outcome: action, Detail: detail}
	if err := s.o.Recorder.Record(ctx, ev); err != nil {
		s.o.Log.Error("console: recording a console action failed", "action", action, "err", err)
		return err
	}
	return nil
}

// locale picks the page language: ?lang=, then the session's choice, then Accept-Language.
func (s *Server) locale(r *http.Request, ss *session) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		l = s.o.Catalog.Normalize(l)
		if ss != nil {
			s.sessions.setLocale(ss, l)
		}
		return l
	}
	if ss != nil && ss.locale != "" {
		return ss.locale
	}
	return s.o.Catalog.Normalize(firstLanguage(r.Header.Get("Accept-Language"), s.o.Catalog))
}

// firstLanguage is the first language of Accept-Language the catalogs have.
func firstLanguage(al string, c *catalog.Catalog) string {
	for _, part := range strings.Split(al, ",") {
		tag := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		for _, known := range catalog.Locales {
			if l := strings.ToLower(tag); l == known || strings.HasPrefix(l, known+"-") {
				return known
			}
		}
	}
	return c.Default()
}

// view is what every page shows (page_html.go writes it).
type view struct {
	Lang    string
	T       func(id string, data ...any) string
	Title   string
	Page    string // which page
	Nav     string
	User    *Identity
	CSRF    string
	Self    string // the page's path and query without lang, for the language switch
	Status  int
	Message string
	Data    any
}

func (s *Server) tr(loc string) func(string, ...any) string {
	return func(id string, data ...any) string {
		if len(data) == 2 {
			return s.o.Catalog.T(loc, id, map[string]any{fmt.Sprint(data[0]): data[1]})
		}
		return s.o.Catalog.T(loc, id)
	}
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, ss *session, v view) {
	s.headers(w)
	if v.Lang == "" {
		v.Lang = s.locale(r, ss)
	}
	v.T = s.tr(v.Lang)
	if ss != nil {
		v.User, v.CSRF = &ss.who, ss.csrf
	}
	q := r.URL.Query()
	q.Del("lang")
	v.Self = r.URL.Path + "?" + q.Encode()
	if v.Status == 0 {
		v.Status = http.StatusOK
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(v.Status)
	w.Write(v.page())
}

// fail renders a short page with one catalog sentence.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ss *session, code int, msgID string) {
	loc := s.locale(r, ss)
	s.render(w, r, ss, view{Lang: loc, Page: "message", Title: s.o.Catalog.T(loc, "console_title"), Status: code, Message: s.o.Catalog.T(loc, msgID)})
}
