// Command baseline is the load benchmark's yardstick: a bare slack-go bot in
// Socket Mode that acks every envelope and answers each direct message with
// one chat.postMessage, and does nothing else. bench/load runs it against the
// same fake Slack as passcodebot, with the same number of round trips, so the
// benchmark can say how much the real bot adds to the chat SDK's own cost.
//
// It takes the fake's address and tokens from the environment:
// BASELINE_SLACK_API_URL, BASELINE_SLACK_BOT_TOKEN, BASELINE_SLACK_APP_TOKEN.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	// The same connection pool and timeout as passcodebot's Slack adapter, so
	// the comparison is about the bots' own work, not their HTTP settings.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	tr.MaxConnsPerHost = 64
	api := slack.New(os.Getenv("BASELINE_SLACK_BOT_TOKEN"),
		slack.OptionAPIURL(os.Getenv("BASELINE_SLACK_API_URL")),
		slack.OptionAppLevelToken(os.Getenv("BASELINE_SLACK_APP_TOKEN")),
		slack.OptionHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	client := socketmode.New(api)
	go func() {
		for {
			var evt socketmode.Event
			select {
			case <-ctx.Done():
				return
			case evt = <-client.Events:
			}
			if evt.Type != socketmode.EventTypeEventsAPI || evt.Request == nil {
				continue
			}
			_ = client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
			ev, ok := evt.Data.(slackevents.EventsAPIEvent)
			if !ok {
				continue
			}
			m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
			if !ok || m.BotID != "" || m.SubType != "" || m.ChannelType != "im" {
				continue
			}
			// Each answer on its own goroutine, as passcodebot answers each
			// person on their own queue.
			go func() {
				if _, _, err := api.PostMessageContext(ctx, m.Channel, slack.MsgOptionText("pong: "+m.Text, false)); err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "baseline: chat.postMessage:", err)
				}
			}()
		}
	}()
	return client.RunContext(ctx)
}
