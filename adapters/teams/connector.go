package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Connector retry policy: 429 and 5xx are tried again after Retry-After (or a
// growing pause when it is missing), at most maxTries times in all, and never
// waiting longer than maxWait at once.
const (
	maxTries = 4
	maxWait  = 30 * time.Second
)

// APIError is a Connector call that failed. It never holds a token.
type APIError struct {
	Op         string
	Status     int
	Code       string // the Bot Framework error code, when the body had one
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("teams: %s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	return s
}

// RateLimitedError is a 429 returned to the caller instead of being waited
// out (helpdesk posts: bot.Alerts paces them). It has the RetryAfter method
// bot.Alerts looks for.
type RateLimitedError struct{ After time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("teams: rate limited, retry after %v", e.After)
}

// RetryAfter is how long to wait.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.After }

// connector is a thin client of the Bot Connector REST API. Its HTTP client
// adds the app's Entra token (client credentials).
type connector struct {
	http *http.Client
	clk  clock.Clock
}

type call struct {
	op, method, url string
	body            any
	out             any
	noRetry429      bool // give a 429 back at once as *RateLimitedError
}

func conversationURL(serviceURL, conversationID string, rest ...string) string {
	u := strings.TrimRight(serviceURL, "/") + "/v3/conversations"
	if conversationID != "" {
		u += "/" + url.PathEscape(conversationID)
	}
	for _, r := range rest {
		u += "/" + url.PathEscape(r)
	}
	return u
}

func (c *connector) do(ctx context.Context, cl call) error {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return err
		}
	}
	for try := 1; ; try++ {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
		if err != nil {
			return err
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is in the message already; keep the cause only
			}
			if ctx.Err() != nil || try >= maxTries {
				return fmt.Errorf("teams: %s: %w", cl.op, err)
			}
			if werr := c.wait(ctx, backoff(try)); werr != nil {
				return werr
			}
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			if cl.out != nil && len(bytes.TrimSpace(raw)) > 0 {
				if err := json.Unmarshal(raw, cl.out); err != nil {
					return fmt.Errorf("teams: %s: unreadable answer: %w", cl.op, err)
				}
			}
			return nil
		}
		ra := retryAfter(resp.Header.Get("Retry-After"), c.clk.Now())
		if resp.StatusCode == http.StatusTooManyRequests && cl.noRetry429 {
			if ra <= 0 {
				ra = backoff(try)
			}
			return &RateLimitedError{After: ra}
		}
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retryable || try >= maxTries {
			return &APIError{Op: cl.op, Status: resp.StatusCode, Code: errorCode(raw), RetryAfter: ra}
		}
		if ra <= 0 {
			ra = backoff(try)
		}
		if err := c.wait(ctx, min(ra, maxWait)); err != nil {
			return err
		}
	}
}

func (c *connector) wait(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.clk.After(d):
		return nil
	}
}

func backoff(try int) time.Duration { return time.Duration(1<<(try-1)) * time.Second }

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

func errorCode(raw []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil {
		return e.Error.Code
	}
	return ""
}

func isNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// send posts an activity to a conversation and returns its id.
func (c *connector) send(ctx context.Context, serviceURL, conversationID string, act *Activity, noRetry429 bool) (string, error) {
	var rr ResourceResponse
	err := c.do(ctx, call{op: "send", method: http.MethodPost, url: conversationURL(serviceURL, conversationID, "activities"), body: act, out: &rr, noRetry429: noRetry429})
	return rr.ID, err
}

// update replaces an activity the bot sent.
func (c *connector) update(ctx context.Context, serviceURL, conversationID, activityID string, act *Activity) error {
	act.ID = activityID
	return c.do(ctx, call{op: "update", method: http.MethodPut, url: conversationURL(serviceURL, conversationID, "activities", activityID), body: act})
}

// delete removes an activity the bot sent.
func (c *connector) delete(ctx context.Context, serviceURL, conversationID, activityID string) error {
	return c.do(ctx, call{op: "delete", method: http.MethodDelete, url: conversationURL(serviceURL, conversationID, "activities", activityID)})
}

// member reads one member of a conversation (Teams fills it from Entra ID).
func (c *connector) member(ctx context.Context, serviceURL, conversationID, memberID string) (TeamsChannelAccount, error) {
	var m TeamsChannelAccount
	err := c.do(ctx, call{op: "get member", method: http.MethodGet, url: conversationURL(serviceURL, conversationID, "members", memberID), out: &m})
	return m, err
}

// createPersonal opens (or finds) the personal chat of the bot with a user,
// for a proactive message; the app must be installed for that user.
func (c *connector) createPersonal(ctx context.Context, serviceURL, botID, tenantID, userID string) (string, error) {
	body := map[string]any{
		"bot":         map[string]string{"id": botID},
		"members":     []map[string]string{{"id": userID}},
		"channelData": map[string]any{"tenant": map[string]string{"id": tenantID}},
		"tenantId":    tenantID,
		"isGroup":     false,
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, call{op: "create conversation", method: http.MethodPost, url: conversationURL(serviceURL, ""), body: body, out: &out}); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("teams: create conversation: no id in the answer")
	}
	return out.ID, nil
}
