package discord

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/ratelimit"
)

// rewriteTransport sends requests for Discord's REST API (discordgo's
// EndpointAPI, https://discord.com/api/v9/) to another base URL: a REST proxy
// in front of Discord, or a fake in tests. It changes no package variable, so
// several adapters with different URLs can run in one process.
type rewriteTransport struct {
	from string   // the prefix to replace
	to   *url.URL // its replacement
	base http.RoundTripper
}

func newRewriteTransport(apiURL string, base http.RoundTripper) (*rewriteTransport, error) {
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord.api_url: %q is not an http(s) URL", apiURL)
	}
	return &rewriteTransport{from: discordgo.EndpointAPI, to: u, base: base}, nil
}

func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := req.URL.String()
	rest, ok := strings.CutPrefix(s, t.from)
	if !ok {
		return t.base.RoundTrip(req)
	}
	if req.Method == http.MethodGet && rest == "gateway" {
		// discordgo's Open() asks GET /gateway; a bot asks GET /gateway/bot,
		// which answers the same "url" (and more) for the bot's token.
		rest = "gateway/bot"
	}
	u, err := url.Parse(t.to.String() + rest)
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.URL = u
	r.Host = u.Host
	return t.base.RoundTrip(r)
}

// tokenInURL matches the secret part of interaction and webhook URLs.
var tokenInURL = regexp.MustCompile(`(interactions|webhooks)/([0-9@a-z]+)/[A-Za-z0-9_\-.]+`)

// redact removes interaction and webhook tokens from an error text: discordgo
// and net/http put request URLs into their errors.
func redact(s string) string { return tokenInURL.ReplaceAllString(s, "$1/$2/[token]") }

// safeError carries an error whose text is fit for a log line.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// safe wraps err so its text holds no token; nil stays nil.
func safe(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *safeError
	if errors.As(err, &se) && op == "" {
		return err
	}
	msg := redact(err.Error())
	if op != "" {
		msg = "discord " + op + ": " + msg
	}
	return &safeError{msg: msg, err: err}
}

// rateLimited is a REST call Discord refused with 429, in Discord's words. The
// runtime waits RetryAfter before it tries again; Global says the limit is on
// the whole bot.
func rateLimited(after time.Duration, global bool, err error) *ratelimit.Error {
	return &ratelimit.Error{After: after, Global: global, Err: err,
		Text: fmt.Sprintf("discord: rate limited, retry after %v: %s", after, redact(err.Error()))}
}

// asRateLimited returns the 429 in err as a *ratelimit.Error, or nil.
func asRateLimited(err error) *ratelimit.Error {
	var rle *discordgo.RateLimitError
	if errors.As(err, &rle) && rle.RateLimit != nil && rle.TooManyRequests != nil {
		after := rle.RetryAfter
		if after <= 0 {
			after = time.Second
		}
		return rateLimited(after, false, err)
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests {
		after := time.Second
		if s, err := strconv.ParseFloat(re.Response.Header.Get("Retry-After"), 64); err == nil && s > 0 {
			after = time.Duration(s * float64(time.Second))
		}
		return rateLimited(after, re.Response.Header.Get("X-RateLimit-Global") != "", err)
	}
	return nil
}

// apiCode is Discord's JSON error code in err, or 0.
func apiCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// httpStatus is the HTTP status of a REST error, or 0.
func httpStatus(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// Discord JSON error codes the adapter acts on.
const (
	codeUnknownMessage     = 10008
	codeUnknownInteraction = 10062
	codeAlreadyAcked       = 40060
	codeInvalidWebhookTok  = 50027
)

// snowflakeTime is when a Discord id was made.
func snowflakeTime(id string) (time.Time, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(n>>22) + 1420070400000), true
}

// trackedConn is the gateway's network connection, watched by the watchdog:
// when the client last wrote (a heartbeat) and last read (its ACK).
type trackedConn struct {
	net.Conn
	clk       clock.Clock
	seq       atomic.Int64 // orders reads and writes, whatever the clock says
	readSeq   atomic.Int64
	writeSeq  atomic.Int64
	lastWrite atomic.Int64 // unix nanoseconds on clk
	closed    atomic.Bool
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.readSeq.Store(c.seq.Add(1))
	}
	if err != nil {
		c.closed.Store(true)
	}
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	c.lastWrite.Store(c.clk.Now().UnixNano())
	c.writeSeq.Store(c.seq.Add(1))
	n, err := c.Conn.Write(p)
	if err != nil {
		c.closed.Store(true)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// waitingForAck reports how long the latest write has gone without a read after it.
func (c *trackedConn) waitingForAck(now time.Time) time.Duration {
	if c.writeSeq.Load() <= c.readSeq.Load() {
		return 0
	}
	return max(now.Sub(time.Unix(0, c.lastWrite.Load())), 0)
}

// dialer makes network connections for the gateway and hands each to track.
func dialer(clk clock.Clock, track func(*trackedConn)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, clk: clk}
		track(tc)
		return tc, nil
	}
}
