package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	slackgo "github.com/slack-go/slack"
)

// chatSend is chat.postMessage and chat.update as slack-go's
// PostMessageContext and UpdateMessageContext send them (the same form, the
// same fields, the bot token in the form) with the blocks already written as
// JSON (render), and with the answer decoded into only what the adapter reads.
// slack-go's path built the request from its option functions, marshalled its
// block structs, and decoded the answer into its whole Message type; with the
// blocks that was a fifth of the bot's CPU at 1,000 employees at once (issue
// 17). Errors are slack-go's own types, as its client returns them: a
// *slackgo.RateLimitedError for a 429 with Retry-After, a
// slackgo.StatusCodeError for any other status but 200, and a
// slackgo.SlackErrorResponse for an answer with ok false. chatapi_test.go
// compares the requests and the errors with slack-go's.
func (a *Adapter) chatSend(ctx context.Context, method string, form []byte) (channel, ts string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIURL+method, bytes.NewReader(form))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(form)), nil }
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
		retry, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
		if err != nil {
			return "", "", err
		}
		return "", "", &slackgo.RateLimitedError{RetryAfter: time.Duration(retry) * time.Second}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return "", "", slackgo.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", "", err
	}
	var r chatAnswer
	if err := json.Unmarshal(body, &r); err != nil {
		return "", "", err
	}
	ts = r.Timestamp
	if ts == "" {
		ts = r.MessageTimestamp
	}
	if !r.Ok && r.Error != "" {
		// Slack's error, with its metadata, as slack-go's client returns it.
		var full slackgo.SlackResponse
		if err := json.Unmarshal(body, &full); err != nil {
			return "", "", err
		}
		return r.Channel, ts, full.Err()
	}
	return r.Channel, ts, nil
}

// chatAnswer is what the adapter reads of chat.postMessage's and
// chat.update's answer (slack-go's chatResponseFull without the message, and
// of its SlackResponse only ok and error; the rest is read on an error).
type chatAnswer struct {
	Channel          string `json:"channel"`
	Timestamp        string `json:"ts"`
	MessageTimestamp string `json:"message_ts"`
	Ok               bool   `json:"ok"`
	Error            string `json:"error"`
}

// postForm is the body slack-go's PostMessageContext sends with
// MsgOptionText(text, true), MsgOptionBlocks, MsgOptionDisableLinkUnfurl and
// MsgOptionDisableMediaUnfurl: url.Values.Encode's order (keys sorted).
func (a *Adapter) postForm(channel, text string, blocks []byte) []byte {
	b := make([]byte, 0, 64+len(a.cfg.BotToken)+len(channel)+3*(len(text)+len(blocks))/2)
	b = formField(b, "blocks", blocks)
	b = formField(b, "channel", channel)
	b = formField(b, "text", escape(text))
	b = formField(b, "token", a.cfg.BotToken)
	b = formField(b, "unfurl_links", "false")
	b = formField(b, "unfurl_media", "false")
	return b
}

// updateForm is the body slack-go's UpdateMessageContext sends with
// MsgOptionText(text, escapeText) and MsgOptionBlocks.
func (a *Adapter) updateForm(channel, ts, text string, escapeText bool, blocks []byte) []byte {
	if escapeText {
		text = escape(text)
	}
	b := make([]byte, 0, 64+len(a.cfg.BotToken)+len(channel)+len(ts)+3*(len(text)+len(blocks))/2)
	b = formField(b, "blocks", blocks)
	b = formField(b, "channel", channel)
	b = formField(b, "text", text)
	b = formField(b, "token", a.cfg.BotToken)
	b = formField(b, "ts", ts)
	return b
}

// formField appends &key=value as url.Values.Encode writes it.
func formField[S string | []byte](b []byte, key string, value S) []byte {
	if len(b) > 0 {
		b = append(b, '&')
	}
	b = append(b, url.QueryEscape(key)...)
	b = append(b, '=')
	return appendQueryEscape(b, value)
}

// appendQueryEscape is url.QueryEscape appending to b.
func appendQueryEscape[S string | []byte](b []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return b
}

const upperHex = "0123456789ABCDEF"

// blocksOf is slack-go blocks as JSON, for the messages that are still built
// from slack-go's types (helpdesk alerts, the Home tab's reply).
func blocksOf(blocks []slackgo.Block) ([]byte, error) {
	if len(blocks) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(blocks)
}
