package httppool

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBurstsReuseConnections: three bursts of 16 requests at once to one
// host open about 16 connections in all, not 16 and then 14 more per burst as
// net/http's default transport (two kept per host) does.
func TestBurstsReuseConnections(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tr     *http.Transport
		pooled bool
	}{
		{"pooled", Transport(), true},
		{"default", http.DefaultTransport.(*http.Transport).Clone(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opened atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					opened.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			c := &http.Client{Transport: tc.tr}
			defer tc.tr.CloseIdleConnections()
			const burst = 16
			for range 3 {
				start := make(chan struct{})
				var wg sync.WaitGroup
				for range burst {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						res, err := c.Get(srv.URL)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}()
				}
				close(start)
				wg.Wait()
			}
			n := opened.Load()
			t.Logf("%s transport: %d connections opened", tc.name, n)
			if tc.pooled && n >= 2*burst {
				t.Errorf("pooled transport: %d connections opened for 3 bursts of %d; want about %d", n, burst, burst)
			}
			if !tc.pooled && n < 2*burst {
				// The control: if the default kept them too, this test would show nothing.
				t.Logf("default transport opened only %d connections", n)
			}
		})
	}
}
