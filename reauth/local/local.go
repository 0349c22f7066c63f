// Package local is the built-in demo sign-in of the embedded default: the person
// picks a demo user of the fleet and is signed in as them, at once. It is a
// development aid, not an identity provider; the config refuses it beside a
// real chat platform unless an option named for the danger is set.
package local

import (
	"net/http"
	"strings"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Provider is the demo sign-in.
type Provider struct {
	Windows reauth.Windows
	Pages   *reauth.Pages
	Clock   clock.Clock
	Users   []resetflow.User // who may sign in
}

// Begin shows the demo sign-in form: the device owner first, then the other demo users.
func (p *Provider) Begin(w http.ResponseWriter, r *http.Request, token string, info resetflow.WindowInfo) {
	var opts []reauth.Option
	if info.UserUPN != "" {
		opts = append(opts, reauth.Option{Value: info.UserUPN, Label: info.UserUPN})
	}
	for _, u := range p.Users {
		if info.UserUPN != "" && strings.EqualFold(u.UPN, info.UserUPN) {
			opts[0].Label = u.DisplayName + " <" + u.UPN + ">"
			continue
		}
		opts = append(opts, reauth.Option{Value: u.UPN, Label: u.DisplayName + " <" + u.UPN + ">"})
	}
	p.Pages.Form(w, info.Locale, "page_local_title", "page_local_note", "/local/signin", "page_local_button",
		map[string]string{"token": token}, p.Pages.Catalog.T(info.Locale, "page_local_as"), opts)
}

// Register mounts the form's target.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /local/signin", p.signIn)
}

// FormOrigins is nil: the form posts to our own server.
func (p *Provider) FormOrigins() []string { return nil }

func (p *Provider) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.Pages.Status(w, p.Pages.Catalog.Default(), resetflow.SignInUnknown)
		return
	}
	token, upn := r.PostForm.Get("token"), r.PostForm.Get("choice")
	info, _ := p.Windows.Window(token)
	var who resetflow.Identity
	if upn != "" && info.UserUPN != "" && strings.EqualFold(upn, info.UserUPN) {
		who = resetflow.Identity{Subject: info.UserID, UPN: info.UserUPN, AuthTime: p.Clock.Now()}
	}
	for _, u := range p.Users {
		if who.UPN == "" && strings.EqualFold(u.UPN, upn) {
			who = resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: p.Clock.Now()}
		}
	}
	if who.UPN == "" {
		p.Pages.Error(w, info.Locale, http.StatusBadRequest, "unknown demo user")
		return
	}
	res := p.Windows.CompleteSignIn(r.Context(), token, who)
	p.Pages.Result(w, res)
}
