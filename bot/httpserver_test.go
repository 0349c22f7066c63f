package bot

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// runBot runs a Bot with a real engine (demo fleet) on loopback listeners and
// returns its public and admin addresses; the test's end stops it.
func runBot(t *testing.T, limits HTTPLimits, admin bool, ready func(context.Context) error, routes func(*http.ServeMux)) (string, string) {
	t.Helper()
	cat, err := catalog.New("en")
	if err != nil {
		t.Fatal(err)
	}
	fl, err := fleet.Load(fleet.Demo(), clock.Real{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := resetflow.New(resetflow.Config{}, resetflow.Deps{Catalog: cat, Devices: fl, Directory: fl, Messenger: resetflowtest.NewChat(), Alerter: &resetflowtest.Alerts{}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if routes != nil {
		routes(mux)
	}
	b := &Bot{Engine: eng, Mux: mux, Listener: ln, HTTP: limits, Ready: ready}
	adminAddr := ""
	if admin {
		al, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b.AdminListener, adminAddr = al, al.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ln.Addr().String(), adminAddr
}

// waitErr takes the handler's error; the timer is a safety net for a server
// without the limit, far above the tiny timeouts the tests configure.
func waitErr(t *testing.T, ch <-chan error, stuck string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal(stuck)
		return nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestPublicReadyzSaysOnlyReady: on the public listener /readyz and /healthz
// answer "ready"/"not ready" (and "ok") with the right status, never which
// backend failed or how; the admin listener still gives the reason.
func TestPublicReadyzSaysOnlyReady(t *testing.T) {
	const detail = "graph.internal.contoso.example 10.1.2.3: x509 certificate expired"
	failing := func(context.Context) error { return errors.New("device backend: " + detail) }
	for _, admin := range []bool{true, false} {
		pub, adm := runBot(t, HTTPLimits{}, admin, failing, nil)
		code, body := get(t, "http://"+pub+"/readyz")
		if code != http.StatusServiceUnavailable || body != "not ready\n" {
			t.Errorf("admin=%v: public /readyz = %d %q; want 503 \"not ready\"", admin, code, body)
		}
		if code, body := get(t, "http://"+pub+"/healthz"); code != http.StatusOK || body != "ok\n" {
			t.Errorf("admin=%v: public /healthz = %d %q", admin, code, body)
		}
		if admin {
			if code, body := get(t, "http://"+adm+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, detail) {
				t.Errorf("admin /readyz = %d %q; want 503 with the reason", code, body)
			}
		}
	}
	pub, _ := runBot(t, HTTPLimits{}, true, func(context.Context) error { return nil }, nil)
	if code, body := get(t, "http://"+pub+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("public /readyz when ready = %d %q", code, body)
	}
}

// TestSlowHeaderIsCutOff: a client that sends half a request header and then
// nothing (slowloris) loses its connection after ReadHeaderTimeout.
func TestSlowHeaderIsCutOff(t *testing.T) {
	pub, _ := runBot(t, HTTPLimits{ReadHeaderTimeout: 100 * time.Millisecond}, false, nil, nil)
	c, err := net.Dial("tcp", pub)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /readyz HTTP/1.1\r\nHost: bot\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	// Safety net only: the server must hang up long before this.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 512))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server still holds a connection whose header never ended")
	}
	if err == nil {
		t.Fatal("the server answered a request whose header never ended")
	}
}

// TestSlowBodyAndIdleAreCutOff: a body that stops coming fails the handler's
// read after ReadTimeout, and a kept-alive connection left idle is closed after IdleTimeout.
func TestSlowBodyAndIdleAreCutOff(t *testing.T) {
	readErr := make(chan error, 1)
	pub, _ := runBot(t, HTTPLimits{ReadTimeout: 150 * time.Millisecond, IdleTimeout: 150 * time.Millisecond}, false, nil, func(m *http.ServeMux) {
		m.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
			_, err := io.ReadAll(r.Body)
			readErr <- err
		})
	})
	c, err := net.Dial("tcp", pub)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\nonly ten b")
	if err := waitErr(t, readErr, "the handler still waits for a body that stopped coming"); err == nil {
		t.Error("a body that stopped coming was read to its end")
	}

	c2, err := net.Dial("tcp", pub)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "GET /readyz HTTP/1.1\r\nHost: bot\r\n\r\n")
	br := bufio.NewReader(c2)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	res.Body.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second)) // safety net only
	_, err = br.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Error("an idle keep-alive connection was not closed")
	}
}

// TestSlowReaderIsCutOff: an answer the client does not read fails to write
// after WriteTimeout, so a client cannot hold a handler by not reading.
func TestSlowReaderIsCutOff(t *testing.T) {
	writeErr := make(chan error, 1)
	pub, _ := runBot(t, HTTPLimits{WriteTimeout: 150 * time.Millisecond}, false, nil, func(m *http.ServeMux) {
		m.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 1<<20)
			for range 512 { // far more than the socket buffers hold
				if _, err := w.Write(chunk); err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		})
	})
	c, err := net.Dial("tcp", pub)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: bot\r\n\r\n")
	if err := waitErr(t, writeErr, "the handler still writes to a client that reads nothing"); err == nil {
		t.Error("512 MiB were written to a client that reads nothing")
	}
}

// TestBodyLimit: a request body over MaxBodyBytes is refused with 413, whether
// it says its length or streams chunks; one under it is read whole.
func TestBodyLimit(t *testing.T) {
	pub, _ := runBot(t, HTTPLimits{MaxBodyBytes: 1024}, false, nil, func(m *http.ServeMux) {
		m.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			if len(b) != 1000 {
				http.Error(w, "short read", http.StatusBadRequest)
			}
		})
	})
	post := func(body io.Reader, size int64) int {
		req, _ := http.NewRequest("POST", "http://"+pub+"/form", body)
		req.ContentLength = size
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(strings.NewReader(strings.Repeat("a", 4096)), 4096); code != http.StatusRequestEntityTooLarge {
		t.Errorf("4096 bytes with Content-Length: %d; want 413", code)
	}
	if code := post(io.MultiReader(strings.NewReader(strings.Repeat("a", 4096))), -1); code != http.StatusRequestEntityTooLarge {
		t.Errorf("4096 bytes chunked: %d; want 413", code)
	}
	if code := post(strings.NewReader(strings.Repeat("a", 1000)), 1000); code != http.StatusOK {
		t.Errorf("1000 bytes: %d; want 200", code)
	}
}

// TestDefaultLimitsAreSet: with nothing configured every limit is on.
func TestDefaultLimitsAreSet(t *testing.T) {
	s := HTTPLimits{}.server(http.NewServeMux(), false)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("public server limits: %+v", s)
	}
	if a := (HTTPLimits{}).server(http.NewServeMux(), true); a.WriteTimeout != 0 || a.ReadHeaderTimeout <= 0 {
		t.Errorf("admin server with the profiler: write %v, header %v", a.WriteTimeout, a.ReadHeaderTimeout)
	}
}
