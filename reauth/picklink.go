package reauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Picker is the engine's side of device-list links (resetflow/picklink.go): a
// link per device that picks it and goes straight on to the sign-in.
type Picker interface {
	// PickWindow looks at device n of a device-list link without using anything up.
	PickWindow(token string, n int) (resetflow.PickInfo, resetflow.WindowStatus)
	// PickFromLink picks device n and returns the sign-in window to go on with.
	PickFromLink(ctx context.Context, token string, n int) resetflow.PickResult
}

// autoSubmitJS is the page script that submits the form on load; the
// Content-Security-Policy allows exactly this script by its hash.
const autoSubmitJS = "document.forms[0].submit();"

var autoSubmitHash = func() string {
	sum := sha256.Sum256([]byte(autoSubmitJS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// pickNumber reads ?d=n of a device-list link; 0 when the request is not one.
func (s *Server) pickNumber(r *http.Request) (Picker, int) {
	p, ok := s.Windows.(Picker)
	if !ok || !r.URL.Query().Has("d") {
		return nil, 0
	}
	n, err := strconv.Atoi(r.URL.Query().Get("d"))
	if err != nil || n < 1 {
		return p, -1
	}
	return p, n
}

// pickLanding answers GET of a device-list link: a page that names the device
// and, in a browser, submits itself to start the sign-in. It changes nothing.
func (s *Server) pickLanding(w http.ResponseWriter, r *http.Request) bool {
	p, n := s.pickNumber(r)
	if p == nil {
		return false
	}
	token := r.PathValue("token")
	info, st := p.PickWindow(token, n)
	switch st {
	case resetflow.WindowOpen:
		loc := info.Locale
		s.Pages.render(w, page{
			Lang: loc, Title: s.Pages.Catalog.T(loc, "page_title"),
			Body:   s.Pages.Catalog.T(loc, "page_intro", map[string]any{"Device": info.Device, "Until": s.Pages.until(info.Expires)}),
			Note:   s.Pages.Catalog.T(loc, "page_preview_note"),
			Action: "/r/" + token + "?d=" + strconv.Itoa(n), Button: s.Pages.Catalog.T(loc, "page_continue"),
			Auto: true,
		})
	case resetflow.WindowExpired:
		s.Pages.Status(w, info.Locale, resetflow.SignInExpired)
	default:
		s.Pages.Status(w, localeFromRequest(r, s.Pages.Catalog), resetflow.SignInUnknown)
	}
	return true
}

// pickBegin answers the page's POST: the device is picked (as a typed number
// would pick it) and the sign-in starts for the window that pick opened.
func (s *Server) pickBegin(w http.ResponseWriter, r *http.Request) bool {
	p, n := s.pickNumber(r)
	if p == nil {
		return false
	}
	res := p.PickFromLink(r.Context(), r.PathValue("token"), n)
	switch {
	case res.Status == resetflow.WindowExpired:
		s.Pages.Status(w, res.Locale, resetflow.SignInExpired)
	case res.Done:
		s.Pages.Status(w, res.Locale, resetflow.SignInOK) // already signed in: back to the chat
	case res.SignIn != "":
		info, st := s.Windows.Window(res.SignIn)
		if st != resetflow.WindowOpen {
			s.Pages.Status(w, info.Locale, resetflow.SignInExpired)
			return true
		}
		s.Provider.Begin(w, r, res.SignIn, info)
	default:
		s.Pages.Status(w, res.Locale, resetflow.SignInUnknown)
	}
	return true
}
