package oidc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/resetflow"
)

// neverWindows fails the fuzz test if any callback input completes a sign-in.
type neverWindows struct{ calls atomic.Int32 }

func (n *neverWindows) Window(string) (resetflow.WindowInfo, resetflow.WindowStatus) {
	return resetflow.WindowInfo{}, resetflow.WindowUnknown
}

func (n *neverWindows) CompleteSignIn(context.Context, string, resetflow.Identity) resetflow.SignInResult {
	n.calls.Add(1)
	return resetflow.SignInResult{}
}

// FuzzCallback sends arbitrary query strings to the callback, with the state of
// a sign-in in progress or not. Whatever the query: no panic, never a success
// page, never a sign-in completed (the provider is unreachable, so nothing can
// be verified), and the page echoes neither the code nor the state.
func FuzzCallback(f *testing.F) {
	f.Add("state=known-state&code=abc")
	f.Add("state=known-state&error=access_denied&error_description=%3Cscript%3E")
	f.Add("state=known-state&state=other&code=&code=x")
	f.Add("code=abc")
	f.Add("%zz&state=known-state")
	f.Add("state=" + strings.Repeat("A", 5000))
	clk := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	pages := &reauth.Pages{Catalog: catalog.MustNew("en"), Location: time.UTC}
	w := &neverWindows{}
	p, err := New(Config{Issuer: "http://127.0.0.1:1/unreachable", HTTPTimeout: time.Second},
		Options{ClientID: "c", ClientSecret: "s", RedirectURL: "http://bot.test/oidc/callback", Windows: w, Pages: pages, Clock: clk})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	f.Fuzz(func(t *testing.T, query string) {
		p.pending.Set("known-state", &pending{token: "tok", verifier: "v", nonce: "n", issued: clk.Now(), deadline: clk.Now().Add(5 * time.Minute), locale: "en"}, cache.DefaultExpiration)
		req := httptest.NewRequest(http.MethodGet, "/oidc/callback", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			t.Fatalf("query %q got 200", query)
		}
		if w.calls.Load() != 0 {
			t.Fatalf("query %q completed a sign-in", query)
		}
		body := rec.Body.String()
		for _, v := range req.URL.Query()["code"] {
			if len(v) >= 6 && strings.Contains(body, v) {
				t.Fatalf("the page echoes the code %q", v)
			}
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("query %q: page without no-store", query)
		}
	})
}
