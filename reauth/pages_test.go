package reauth_test

import (
	"net/http"
	"net/http/httptest"
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
