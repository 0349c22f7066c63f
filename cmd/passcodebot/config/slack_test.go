package config

import (
	"strings"
	"testing"
)

func TestSlackSection(t *testing.T) {
	const slack = "chat: [slack]\nreauth: local\ninsecure_demo_signin_with_real_chat: true\n"
	for _, tc := range []struct {
		name, raw, wantErr string
	}{
		{"embedded default", "", ""},
		{"slack with a helpdesk channel", slack + "slack: {helpdesk_channel: C0HELP}\n", ""},
		{"slack without a helpdesk channel", slack, "slack.helpdesk_channel"},
		{"bad mode", "slack: {mode: rtm}\n", "slack.mode"},
		{"bad api_url", "slack: {api_url: \"slack.com/api\"}\n", "slack.api_url"},
		{"rewrite without @", "slack: {email_domain_rewrite: {corp.example: \"@contoso.example\"}}\n", "slack.email_domain_rewrite"},
		{"negative cache ttl", "slack: {user_cache_ttl: -1s}\n", "slack.user_cache_ttl"},
		{"unknown key", "slack: {app_token: xapp-1}\n", "app_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.raw))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Parse = %v; want an error naming %s", err, tc.wantErr)
			case err == nil && (c.Slack.Mode != "socket" || c.Slack.APIURL != "https://slack.com/api/"):
				t.Errorf("defaults: %+v", c.Slack)
			}
		})
	}
	c, err := Parse([]byte("slack: {api_url: \"https://slack-gov.com/api\"}\n"))
	if err != nil || c.Slack.APIURL != "https://slack-gov.com/api/" {
		t.Errorf("api_url without its slash: %v %q", err, c.Slack.APIURL)
	}
}
