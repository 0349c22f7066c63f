// Package intune implements the engine's Devices and Directory ports against
// Microsoft Graph (Intune) with a thin client over net/http and an app-only
// token from Entra ID (OAuth 2.0 client credentials).
//
// Calls that only read are retried on throttling and transient failures. The
// reset request is never sent twice once it may have reached Graph: when its
// answer is lost, the client reads the device's action state instead and, if
// that does not settle it, reports resetflow.KindAmbiguous so the engine polls.
package intune

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/httppool"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Options are the collaborators of a Client; every field may be left zero.
type Options struct {
	// Clock tells the time, times out requests and waits between tries.
	// Default: the wall clock.
	Clock clock.Clock
	// HTTPClient carries requests to Graph and to the token endpoint. Its
	// Timeout and CheckRedirect are not used: Config.Timeout bounds each
	// request and redirects are never followed. Default: a client that keeps
	// up to 64 connections to Graph open and uses at most 64 at once.
	HTTPClient *http.Client
	// Logger receives retries and lost answers; never tokens or passcodes.
	// Default: slog.Default().
	Logger *slog.Logger
	// Jitter returns a number in [0, 1) that spreads backoff waits.
	// Default: math/rand/v2.
	Jitter func() float64
}

// Client talks to Microsoft Graph. It implements resetflow.Devices and
// resetflow.Directory and is safe for concurrent use.
type Client struct {
	cfg    Config
	base   *url.URL
	hc     *http.Client
	tokens *tokenSource
	clock  clock.Clock
	log    *slog.Logger
	jitter func() float64
}

var (
	_ resetflow.Devices   = (*Client)(nil)
	_ resetflow.Directory = (*Client)(nil)
)

// New returns a client for cfg. Zero fields of cfg take their defaults; the
// result is validated. New makes no network call: the first call fetches the token.
func New(cfg Config, opts Options) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := url.Parse(cfg.GraphURL)
	if err != nil {
		return nil, fmt.Errorf("intune.graph_url: %w", err)
	}
	hc := &http.Client{Transport: httppool.Transport()}
	if opts.HTTPClient != nil {
		copied := *opts.HTTPClient
		hc = &copied
	}
	hc.Timeout = 0 // Config.Timeout, on the injected clock, bounds each request
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		cfg:    cfg,
		base:   base,
		hc:     hc,
		clock:  opts.Clock,
		log:    opts.Logger,
		jitter: opts.Jitter,
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.jitter == nil {
		c.jitter = mrand.Float64
	}
	c.tokens = &tokenSource{
		hc: hc,
		conf: &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.LoginURL + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
			Scopes:       []string{cfg.GraphURL + "/.default"},
			AuthStyle:    oauth2.AuthStyleInParams,
		},
	}
	return c, nil
}

// Config returns the effective configuration (defaults applied).
func (c *Client) Config() Config { return c.cfg }

// tokenSource caches the app token and lets a 401 throw it away, so the next
// call fetches a fresh one (the x/oauth2 reuse source cannot be invalidated).
type tokenSource struct {
	conf *clientcredentials.Config
	hc   *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
}

func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		return s.tok, nil
	}
	t, err := s.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, s.hc))
	if err != nil {
		return nil, err
	}
	s.tok = t
	return t, nil
}

// invalidate drops used if it is still the cached token; a token that another
// caller already replaced is left alone, so concurrent 401s refresh once.
func (s *tokenSource) invalidate(used *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == used {
		s.tok = nil
	}
}

// request is one logical Graph call.
type request struct {
	op     string // names the call in errors and logs
	method string
	url    string // absolute
	prefer string // Prefer header, if any
	// write marks a call that changes state: it is never sent again once it
	// may have reached Graph (see maybeSentError).
	write bool
}

// response is a Graph answer with its body read.
type response struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
}

// maybeSentError says a write may have reached Graph: its answer was lost
// (timeout, dropped connection) or was a gateway error.
type maybeSentError struct{ err *resetflow.Error }

func (e *maybeSentError) Error() string { return e.err.Error() }
func (e *maybeSentError) Unwrap() error { return e.err }

var errRequestTimeout = errors.New("request timed out")

const (
	baseBackoff = time.Second
	maxBody     = 8 << 20
)

// do sends r, retrying throttling and transient failures within the configured
// bounds, and refreshing the token once on a 401. It returns the 2xx answer,
// a *resetflow.Error, or a *maybeSentError for a write whose fate is unknown.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	refreshed := false
	for attempt := 1; ; attempt++ {
		resp, tok, wrote, err := c.attempt(ctx, r)
		if err != nil {
			var te *tokenError
			switch {
			case errors.As(err, &te):
				e := te.err
				if e.Kind != resetflow.KindUnavailable && e.Kind != resetflow.KindThrottled || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
					e.Op = r.op + ": " + e.Op
					return nil, e
				}
				if !c.wait(ctx, r, attempt, c.backoff(attempt), e) {
					return nil, e
				}
				continue
			case r.write && wrote:
				return nil, &maybeSentError{c.transportError(r, err)}
			case ctx.Err() != nil || attempt >= c.cfg.MaxAttempts:
				return nil, c.transportError(r, err)
			}
			if !c.wait(ctx, r, attempt, c.backoff(attempt), c.transportError(r, err)) {
				return nil, c.transportError(r, err)
			}
			continue
		}

		switch s := resp.status; {
		case s >= 200 && s < 300:
			return resp, nil
		case s == http.StatusUnauthorized && !refreshed:
			// The token expired or was revoked early: fetch a new one and try
			// once more. Graph refused the call, so even a write is safe to repeat.
			refreshed = true
			c.tokens.invalidate(tok)
			attempt--
			c.log.Info("graph refused the token; fetching a new one", "op", r.op, "request_id", resp.requestID)
			continue
		case retryable(s, r.write):
			e := c.graphError(r.op, resp)
			if attempt >= c.cfg.MaxAttempts {
				return nil, e
			}
			d, ok := c.retryDelay(resp, attempt)
			if !ok {
				e.Err = fmt.Errorf("%w (Retry-After is beyond intune.max_backoff %v)", e.Err, c.cfg.MaxBackoff)
				return nil, e
			}
			if !c.wait(ctx, r, attempt, d, e) {
				return nil, e
			}
			continue
		case r.write && s >= 500:
			// 500, 502, 504: a gateway or backend may have acted on the request.
			return nil, &maybeSentError{c.graphError(r.op, resp)}
		default:
			return nil, c.graphError(r.op, resp)
		}
	}
}

// retryable reports whether an answer with status s may be retried. A write
// is retried only on 429 and 503, which Graph sends before acting.
func retryable(s int, write bool) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return !write
	}
	return false
}

// wait sleeps d on the client's clock before the next try; false when ctx ended.
func (c *Client) wait(ctx context.Context, r request, attempt int, d time.Duration, cause error) bool {
	c.log.Warn("graph call failed; trying again", "op", r.op, "attempt", attempt, "of", c.cfg.MaxAttempts, "wait", d, "err", cause)
	select {
	case <-c.clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff is the wait before try attempt+1 when Graph gave no Retry-After:
// exponential from one second, capped by MaxBackoff, with jitter in its upper half.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.MaxBackoff
	if attempt < 30 {
		if e := baseBackoff << (attempt - 1); e < d {
			d = e
		}
	}
	j := c.jitter()
	if j < 0 || j >= 1 {
		j = 0
	}
	return d/2 + time.Duration(j*float64(d/2))
}

// retryDelay honours Retry-After (seconds or an HTTP date); without it, it
// backs off. ok is false when Graph asks for a longer wait than MaxBackoff.
func (c *Client) retryDelay(resp *response, attempt int) (time.Duration, bool) {
	d, ok := parseRetryAfter(resp.header.Get("Retry-After"), c.clock.Now())
	if !ok {
		return c.backoff(attempt), true
	}
	return d, d <= c.cfg.MaxBackoff
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// tokenError is a failure to get a token; nothing reached Graph.
type tokenError struct{ err *resetflow.Error }

func (e *tokenError) Error() string { return e.err.Error() }

// attempt sends r once, token included, within Config.Timeout on the client's
// clock. wrote reports whether the request may have reached the server.
func (c *Client) attempt(ctx context.Context, r request) (resp *response, tok *oauth2.Token, wrote bool, err error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := c.clock.AfterFunc(c.cfg.Timeout, func() { cancel(errRequestTimeout) })
	defer timer.Stop()

	tok, err = c.tokens.token(actx)
	if err != nil {
		return nil, nil, false, &tokenError{tokenFailure(err, context.Cause(actx))}
	}

	var sent atomic.Bool
	trace := &httptrace.ClientTrace{
		// Any write, even a failed one, may have delivered the request.
		WroteHeaders:         func() { sent.Store(true) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { sent.Store(true) },
		GotFirstResponseByte: func() { sent.Store(true) },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), r.method, r.url, nil)
	if err != nil {
		return nil, tok, false, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "passcodebot")
	req.Header.Set("client-request-id", newUUID())
	if r.prefer != "" {
		req.Header.Set("Prefer", r.prefer)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(context.Cause(actx), errRequestTimeout) {
			err = fmt.Errorf("%w after %v", errRequestTimeout, c.cfg.Timeout)
		}
		return nil, tok, sent.Load(), err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		if errors.Is(context.Cause(actx), errRequestTimeout) {
			err = fmt.Errorf("%w after %v while reading the answer", errRequestTimeout, c.cfg.Timeout)
		}
		return nil, tok, true, err
	}
	rid := cleanCode(res.Header.Get("request-id"))
	return &response{status: res.StatusCode, header: res.Header, body: body, requestID: rid}, tok, true, nil
}

// tokenFailure maps a token endpoint failure. It keeps the endpoint's error
// code and description and drops its body.
func tokenFailure(err, cause error) *resetflow.Error {
	e := &resetflow.Error{Kind: resetflow.KindUnavailable, Op: "token"}
	var re *oauth2.RetrieveError
	switch {
	case errors.Is(cause, errRequestTimeout):
		e.Code, e.Err = "Timeout", errors.New("the token endpoint did not answer in time")
	case errors.As(err, &re) && re.Response != nil:
		s := re.Response.StatusCode
		switch {
		case s == http.StatusTooManyRequests:
			e.Kind = resetflow.KindThrottled
		case s >= 400 && s < 500:
			e.Kind = resetflow.KindForbidden
		}
		e.Code = cleanCode(re.ErrorCode)
		msg := firstLine(re.ErrorDescription)
		if msg == "" {
			msg = http.StatusText(s)
		}
		e.Err = fmt.Errorf("token endpoint answered HTTP %d: %s", s, msg)
	default:
		e.Err = err
	}
	return e
}

func (c *Client) transportError(r request, err error) *resetflow.Error {
	e := &resetflow.Error{Kind: resetflow.KindUnavailable, Op: r.op, Err: err}
	if errors.Is(err, errRequestTimeout) {
		e.Code = "Timeout"
	}
	return e
}

// graphError maps a non-2xx answer, reading Graph's error body when there is one:
// {"error":{"code","message","innerError":{"request-id","date"}}}.
func (c *Client) graphError(op string, resp *response) *resetflow.Error {
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
				Date      string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	e := &resetflow.Error{Kind: kindOfStatus(resp.status), Op: op, RequestID: resp.requestID}
	msg := http.StatusText(resp.status)
	if json.Unmarshal(resp.body, &body) == nil {
		e.Code = cleanCode(body.Error.Code)
		if body.Error.InnerError.RequestID != "" {
			e.RequestID = cleanCode(body.Error.InnerError.RequestID)
		}
		if m := firstLine(body.Error.Message); m != "" {
			msg = m
		}
	}
	e.Err = fmt.Errorf("HTTP %d: %s", resp.status, msg)
	return e
}

func kindOfStatus(s int) resetflow.ErrorKind {
	switch {
	case s == http.StatusNotFound:
		return resetflow.KindNotFound
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return resetflow.KindForbidden
	case s == http.StatusTooManyRequests:
		return resetflow.KindThrottled
	case s >= 500:
		return resetflow.KindUnavailable
	case s >= 400:
		return resetflow.KindBadRequest
	}
	return resetflow.KindInternal // 1xx, 3xx: Graph does not send these to us
}

// decode parses a JSON answer. Its errors say where the JSON broke, never what
// it held: a malformed answer may carry a passcode.
func decode(op string, resp *response, v any) error {
	err := json.Unmarshal(resp.body, v)
	if err == nil {
		return nil
	}
	var (
		se   *json.SyntaxError
		te   *json.UnmarshalTypeError
		what = "not JSON"
	)
	switch {
	case errors.As(err, &se):
		what = fmt.Sprintf("broken JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		what = fmt.Sprintf("field %q is not a %s", te.Field, te.Type)
	}
	return &resetflow.Error{
		Kind: resetflow.KindUnavailable, Op: op, Code: "MalformedResponse", RequestID: resp.requestID,
		Err: fmt.Errorf("HTTP %d answer is malformed: %s", resp.status, what),
	}
}

// endpoint builds base/version/seg1/seg2..., escaping each segment.
func (c *Client) endpoint(version string, segs ...string) string {
	var b strings.Builder
	b.WriteString(c.cfg.GraphURL)
	b.WriteString("/")
	b.WriteString(version)
	for _, s := range segs {
		b.WriteString("/")
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// sameOrigin refuses a nextLink that leaves the configured Graph host: the
// next request would carry our token there.
func (c *Client) sameOrigin(op, link string) error {
	u, err := url.Parse(link)
	if err == nil && u.IsAbs() && strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host) && u.User == nil {
		return nil
	}
	host := "(unparsable)"
	if err == nil {
		host = u.Scheme + "://" + u.Host
	}
	return &resetflow.Error{
		Kind: resetflow.KindInternal, Op: op, Code: "ForeignNextLink",
		Err: fmt.Errorf("refusing to follow @odata.nextLink to %s: not the configured Graph host %s", host, c.base.Scheme+"://"+c.base.Host),
	}
}

// page is one page of a Graph collection.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

const maxPages = 200

// eachPage GETs first and every @odata.nextLink after it, handing each page's
// items to f until f returns false or the pages end.
func eachPage[T any](ctx context.Context, c *Client, op, first, prefer string, f func([]T) bool) error {
	seen := map[string]bool{}
	next := first
	for n := 0; next != ""; n++ {
		if n == maxPages || seen[next] {
			return &resetflow.Error{Kind: resetflow.KindInternal, Op: op, Code: "EndlessPages", Err: fmt.Errorf("stopped after %d pages", n)}
		}
		seen[next] = true
		resp, err := c.do(ctx, request{op: op, method: http.MethodGet, url: next, prefer: prefer})
		if err != nil {
			return err
		}
		var p page[T]
		if err := decode(op, resp, &p); err != nil {
			return err
		}
		if !f(p.Value) {
			return nil
		}
		if p.NextLink != "" {
			if err := c.sameOrigin(op, p.NextLink); err != nil {
				return err
			}
		}
		next = p.NextLink
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Ping reports whether the bot can sign in to Graph (a cached token counts),
// for /readyz. It makes no Graph call.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.tokens.token(ctx); err != nil {
		return tokenFailure(err, err)
	}
	return nil
}
