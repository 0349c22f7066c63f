package teams

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/httppool"
)

// TestClientsKeepConnections: without a client of the caller's, the
// Connector's (under the app token) and the token check's keep
// httppool.PerHost connections open (Go's default keeps two: a burst dialled,
// and over TLS handshook, one per request).
func TestClientsKeepConnections(t *testing.T) {
	a, err := New(Config{AppID: "app", AppPassword: "pw", TenantID: "tenant", Catalog: catalog.MustNew("en")})
	if err != nil {
		t.Fatal(err)
	}
	pooled := func(rt http.RoundTripper) bool {
		tr, ok := rt.(*http.Transport)
		return ok && tr.MaxIdleConnsPerHost == httppool.PerHost
	}
	if !pooled(a.auth.client.Transport) {
		t.Errorf("token check's transport %T; want httppool's", a.auth.client.Transport)
	}
	ot, ok := a.conn.http.Transport.(*oauth2.Transport)
	if !ok || !pooled(ot.Base) {
		t.Errorf("Connector's transport %T; want the app token over httppool's", a.conn.http.Transport)
	}
}
