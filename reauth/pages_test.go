package reauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestZeroResultIsNotSuccessPage: a sign-in result nobody filled in renders the
// "unknown link" page (404), never the success page.
func TestZeroResultIsNotSuccessPage(t *testing.T) {
	pages := &reauth.Pages{Catalog: catalog.MustNew("en"), Location: time.UTC}
	render := func(res resetflow.SignInResult) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		pages.Result(rec, res)
		return rec
	}
	zero := render(resetflow.SignInResult{Locale: "en"})
	ok := render(resetflow.SignInResult{Status: resetflow.SignInOK, Locale: "en"})
	unknown := render(resetflow.SignInResult{Status: resetflow.SignInUnknown, Locale: "en"})
	if ok.Code != http.StatusOK {
		t.Fatalf("SignInOK page: status %d, want 200", ok.Code)
	}
	if zero.Code != http.StatusNotFound {
		t.Errorf("zero result page: status %d, want 404", zero.Code)
	}
	if zero.Body.String() == ok.Body.String() {
		t.Error("the zero result renders the success page")
	}
	if zero.Body.String() != unknown.Body.String() {
		t.Errorf("the zero result page is not the unknown-link page:\n%s", zero.Body.String())
	}
}

// TestLandingGoesOnByItselfExceptForLinking (issue 13 §7): a sign-in link's
// page submits itself in a browser (opening the link is the person's only
// action before the provider), but the page that links a chat account waits
// for its button: the person must read whose account it is.
func TestLandingGoesOnByItselfExceptForLinking(t *testing.T) {
	pages := &reauth.Pages{Catalog: catalog.MustNew("en"), Location: time.UTC}
	const script = "document.forms[0].submit()"
	for _, tc := range []struct {
		name string
		info resetflow.WindowInfo
		auto bool
	}{
		{"reset sign-in", resetflow.WindowInfo{Locale: "en", DeviceName: "Alice's Pixel 8", Expires: time.Now().Add(5 * time.Minute)}, true},
		{"linking sign-in", resetflow.WindowInfo{Locale: "en", Linking: true, Platform: "discord", Account: "Alice (@alice)", Expires: time.Now().Add(5 * time.Minute)}, false},
	} {
		rec := httptest.NewRecorder()
		pages.Landing(rec, "tok", tc.info)
		body := rec.Body.String()
		if got := strings.Contains(body, script); got != tc.auto {
			t.Errorf("%s: page submits itself = %v, want %v", tc.name, got, tc.auto)
		}
		if !strings.Contains(body, `id="continue"`) {
			t.Errorf("%s: no button for a browser that runs no script", tc.name)
		}
	}
}
