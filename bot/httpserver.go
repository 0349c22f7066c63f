package bot

import (
	"net/http"
	"time"
)

// HTTPLimits bound what one client can hold of the bot's HTTP servers: the
// time to send a request's header (slowloris) and whole request, to read the
// answer, an idle keep-alive connection, and the size of a request body.
// Zero fields take DefaultHTTPLimits' values.
type HTTPLimits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxBodyBytes      int64
}

// DefaultHTTPLimits suit the sign-in pages and Slack's HTTP events: small
// forms and JSON payloads, answered at once.
var DefaultHTTPLimits = HTTPLimits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       15 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxHeaderBytes:    32 << 10,
	MaxBodyBytes:      1 << 20,
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	d := DefaultHTTPLimits
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	return l
}

// server returns an http.Server for h with the limits. long leaves the write
// timeout off (the admin listener's profiler streams for as long as asked).
func (l HTTPLimits) server(h http.Handler, long bool) *http.Server {
	l = l.withDefaults()
	srv := &http.Server{
		Handler:           limitBody(h, l.MaxBodyBytes),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	if long {
		srv.WriteTimeout = 0
	}
	return srv
}

// limitBody makes reading more than n bytes of a request body fail (and the
// connection close), whatever the handler reads with.
func limitBody(h http.Handler, n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

// statusOnly serves a health check on the public listener: it answers with
// h's status and a bare "ready"/"not ready" (or "ok"), never h's details
// (which backend failed, and how); those are on the admin listener.
func statusOnly(h http.HandlerFunc, okText string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{header: http.Header{}, status: http.StatusOK}
		h(rec, r)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if rec.status >= 400 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not " + okText + "\n"))
			return
		}
		w.Write([]byte(okText + "\n"))
	}
}

// statusRecorder keeps a handler's status and throws its body away.
type statusRecorder struct {
	header http.Header
	status int
	wrote  bool
}

func (s *statusRecorder) Header() http.Header { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return len(b), nil
}
func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
}
