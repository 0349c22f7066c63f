package discord

import (
	"net/http"
	"testing"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/httppool"
)

// TestRESTKeepsConnections: without a transport of the caller's, the REST
// client keeps httppool.PerHost connections to Discord open (Go's default
// keeps two: a burst dialled, and over TLS handshook, one per request).
func TestRESTKeepsConnections(t *testing.T) {
	a, err := New(Config{Token: "t", Catalog: catalog.MustNew("en")})
	if err != nil {
		t.Fatal(err)
	}
	rt, ok := a.client.Transport.(*rewriteTransport)
	if !ok {
		t.Fatalf("REST transport %T", a.client.Transport)
	}
	tr, ok := rt.base.(*http.Transport)
	if !ok {
		t.Fatalf("REST transport under the rewrite: %T", rt.base)
	}
	if tr.MaxIdleConnsPerHost != httppool.PerHost {
		t.Fatalf("REST transport keeps %d connections per host; want httppool's %d", tr.MaxIdleConnsPerHost, httppool.PerHost)
	}
}
