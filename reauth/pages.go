// Package reauth serves the sign-in links the bot sends: a landing page that a
// link preview may fetch without effect, a button that starts the sign-in with a
// Provider (the company's OIDC provider, or the local demo sign-in), and the
// result pages. Only a provider's callback uses up a sign-in window.
package reauth

import (
	"context"
	"embed"
	"net/http"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Windows is the engine's side of a sign-in window.
type Windows interface {
	// Window looks at a window without using it up.
	Window(token string) (resetflow.WindowInfo, resetflow.WindowStatus)
	// CompleteSignIn uses up a window with the identity that signed in.
	CompleteSignIn(ctx context.Context, token string, who resetflow.Identity) resetflow.SignInResult
}

// Provider signs a person in for a window.
type Provider interface {
	// Begin answers the press of "Continue to sign-in" for an open window,
	// usually with a redirect to the identity provider.
	Begin(w http.ResponseWriter, r *http.Request, token string, info resetflow.WindowInfo)
	// Register mounts the provider's own routes, such as its callback.
	Register(mux *http.ServeMux)
	// FormOrigins lists origins a sign-in form may post or redirect to, for the
	// Content-Security-Policy's form-action; nil means only our own.
	FormOrigins() []string
}

//go:embed templates/style.css
var assets embed.FS

// Pages renders the sign-in pages in the person's language.
type Pages struct {
	Catalog  *catalog.Catalog
	Location *time.Location
	// FormOrigins are added to form-action in the Content-Security-Policy.
	FormOrigins []string
}

// page is what a page shows (page_html.go writes it).
type page struct {
	Lang    string
	Title   string
	Body    string
	Note    string
	Action  string // form action, when there is a form
	Button  string
	Hidden  map[string]string
	Options []Option // a select, when there is one
	Label   string
	Status  int
	Code    string // a pairing code, shown large
	Warning string // a warning in bold, above the button
	Auto    bool   // submit the form on load (a browser runs it; a link preview does not)
}

// Option is one entry of a form's select.
type Option struct{ Value, Label string }

// SecurityHeaders are sent with every page: nothing cached, nothing framed, no referrer.
func (p *Pages) SecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	formAction := "'self'"
	if len(p.FormOrigins) > 0 {
		formAction += " " + strings.Join(p.FormOrigins, " ")
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; script-src "+autoSubmitHash+"; form-action "+formAction+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

func (p *Pages) render(w http.ResponseWriter, pg page) {
	p.SecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if pg.Status == 0 {
		pg.Status = http.StatusOK
	}
	w.WriteHeader(pg.Status)
	w.Write(pg.html())
}

func (p *Pages) until(t time.Time) string {
	t = t.In(p.Location)
	return t.Truncate(time.Minute).Format("15:04") + " " + t.Format("MST")
}

// Landing is the page a sign-in link opens: what will happen, and a button.
func (p *Pages) Landing(w http.ResponseWriter, token string, info resetflow.WindowInfo) {
	loc := info.Locale
	intro := "page_intro"
	warning := ""
	data := map[string]any{"Device": info.DeviceName, "Until": p.until(info.Expires), "Platform": PlatformName(info.Platform), "Account": info.Account}
	if info.Linking {
		// Name the chat account being linked, and say plainly whose it must be.
		intro = "page_intro_link_account"
		warning = p.Catalog.T(loc, "page_link_warning", data)
	}
	p.render(w, page{
		Lang: loc, Title: p.Catalog.T(loc, "page_title"),
		Body:    p.Catalog.T(loc, intro, data),
		Warning: warning,
		Note:    p.Catalog.T(loc, "page_preview_note"),
		Action:  "/r/" + token, Button: p.Catalog.T(loc, "page_continue"),
		// A browser goes straight on to the sign-in (one action: opening the
		// link); a link preview runs no script and changes nothing. Linking an
		// account keeps its explicit step: the person must read whose it is.
		Auto: !info.Linking,
	})
}

// PlatformName is a chat platform's product name, as pages show it.
func PlatformName(platform string) string {
	switch platform {
	case "discord":
		return "Discord"
	case "slack":
		return "Slack"
	case "teams":
		return "Microsoft Teams"
	}
	return platform
}

// Result renders the page for what the engine made of a sign-in: for a linking
// sign-in, the pairing code to type in the chat, naming the account it links.
func (p *Pages) Result(w http.ResponseWriter, res resetflow.SignInResult) {
	if res.Status != resetflow.SignInPairing {
		p.Status(w, res.Locale, res.Status)
		return
	}
	loc := res.Locale
	data := map[string]any{"UPN": res.UPN, "Platform": PlatformName(res.Platform), "Account": res.Account, "Until": p.until(res.Expires)}
	p.render(w, page{
		Lang: loc, Title: p.Catalog.T(loc, "page_pairing_title"),
		Body:    p.Catalog.T(loc, "page_pairing", data),
		Code:    res.Code,
		Warning: p.Catalog.T(loc, "page_pairing_warning", data),
	})
}

// Status renders the page for a window that is not open, or for a sign-in result.
func (p *Pages) Status(w http.ResponseWriter, loc string, s resetflow.SignInStatus) {
	id, code := "page_unknown", http.StatusNotFound
	switch s {
	case resetflow.SignInOK:
		id, code = "page_success", http.StatusOK
	case resetflow.SignInExpired:
		id, code = "page_expired", http.StatusGone
	case resetflow.SignInWrongPerson:
		id, code = "page_wrong_person", http.StatusForbidden
	case resetflow.SignInStale:
		id, code = "page_stale", http.StatusUnauthorized
	case resetflow.SignInNotFound:
		id, code = "page_not_found", http.StatusForbidden
	case resetflow.SignInOtherBrowser:
		id, code = "page_other_browser", http.StatusForbidden
	}
	p.render(w, page{Lang: loc, Title: p.Catalog.T(loc, id+"_title"), Body: p.Catalog.T(loc, id), Status: code})
}

// Error renders a failed sign-in with a short, safe reason.
func (p *Pages) Error(w http.ResponseWriter, loc string, code int, reason string) {
	p.render(w, page{Lang: loc, Title: p.Catalog.T(loc, "page_error_title"), Body: p.Catalog.T(loc, "page_error", map[string]any{"Reason": reason}), Status: code})
}

// Message renders a page with one catalog sentence.
func (p *Pages) Message(w http.ResponseWriter, loc string, code int, titleID, bodyID string) {
	p.render(w, page{Lang: loc, Title: p.Catalog.T(loc, titleID), Body: p.Catalog.T(loc, bodyID), Status: code})
}

// Form renders a page with a form that posts hidden fields and, optionally, a choice.
func (p *Pages) Form(w http.ResponseWriter, loc, titleID, noteID, action, buttonID string, hidden map[string]string, label string, options []Option) {
	p.render(w, page{
		Lang: loc, Title: p.Catalog.T(loc, titleID), Note: p.Catalog.T(loc, noteID),
		Action: action, Button: p.Catalog.T(loc, buttonID), Hidden: hidden, Label: label, Options: options,
	})
}

// Server serves the sign-in links.
type Server struct {
	Windows  Windows
	Provider Provider
	Pages    *Pages
	// Limit rate-limits the sign-in endpoints per client and sign-in; nil means no limit.
	Limit *Limiter
}

// Refuser is a Windows that can be told a sign-in was refused before it
// reached CompleteSignIn (its callback came from another browser), so the
// window is used up and the refusal recorded and alerted.
type Refuser interface {
	RefuseSignIn(ctx context.Context, token, reason string) resetflow.SignInResult
}

// Register mounts the landing page, the continue button, the stylesheet and the provider's routes.
func (s *Server) Register(mux *http.ServeMux) {
	byToken := func(r *http.Request) string { return "r:" + r.PathValue("token") }
	mux.HandleFunc("GET /r/{token}", s.limited(s.landing, byToken))
	mux.HandleFunc("POST /r/{token}", s.limited(s.begin, byToken)) // also device-list links (?d=n), picklink.go
	mux.HandleFunc("GET /assets/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		css, _ := assets.ReadFile("templates/style.css")
		w.Write(css)
	})
	// The provider's routes (its callback, its form) sit behind the limit too.
	inner := http.NewServeMux()
	s.Provider.Register(inner)
	mux.Handle("/", s.limited(inner.ServeHTTP, providerKey))
}

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	if s.pickLanding(w, r) {
		return
	}
	token := r.PathValue("token")
	info, st := s.Windows.Window(token)
	switch st {
	case resetflow.WindowOpen:
		s.Pages.Landing(w, token, info)
	case resetflow.WindowExpired:
		s.Pages.Status(w, info.Locale, resetflow.SignInExpired)
	default:
		s.Pages.Status(w, localeFromRequest(r, s.Pages.Catalog), resetflow.SignInUnknown)
	}
}

func (s *Server) begin(w http.ResponseWriter, r *http.Request) {
	if s.pickBegin(w, r) {
		return
	}
	token := r.PathValue("token")
	info, st := s.Windows.Window(token)
	switch st {
	case resetflow.WindowOpen:
		s.Provider.Begin(w, r, token, info)
	case resetflow.WindowExpired:
		s.Pages.Status(w, info.Locale, resetflow.SignInExpired)
	default:
		s.Pages.Status(w, localeFromRequest(r, s.Pages.Catalog), resetflow.SignInUnknown)
	}
}

// localeFromRequest picks the page language for a link we know nothing about.
func localeFromRequest(r *http.Request, c *catalog.Catalog) string {
	al := r.Header.Get("Accept-Language")
	if i := strings.IndexAny(al, ",;"); i >= 0 {
		al = al[:i]
	}
	return c.Normalize(al)
}
