package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Teams is the teams: section (chat: teams). The app password comes from the
// environment (PASSCODEBOT_TEAMS_APP_PASSWORD), never from here.
type Teams struct {
	// AppID is the bot's Entra app (client) id, as in the Azure Bot resource.
	AppID string `yaml:"app_id"`
	// TenantID is the company's Entra tenant (single-tenant bot); empty: reset.tenant_id.
	TenantID string `yaml:"tenant_id"`
	// HelpdeskConversationID is the helpdesk channel's conversation id (19:…@thread.tacv2); empty: no alerts on Teams.
	HelpdeskConversationID string `yaml:"helpdesk_conversation_id"`
	// ServiceURL is where proactive messages go; empty: https://smba.trafficmanager.net/teams/.
	ServiceURL string `yaml:"service_url"`
	// OpenIDMetadataURL is the Bot Framework's OpenID metadata; empty: the public cloud's.
	OpenIDMetadataURL string `yaml:"openid_metadata_url"`
	// Issuer is the tokens' issuer; empty: https://api.botframework.com (national clouds have their own).
	Issuer string `yaml:"issuer"`
	// TokenURL is the Entra token endpoint; empty: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token.
	TokenURL string `yaml:"token_url"`
	// Path is the messaging endpoint's path on http.listen; empty: /api/messages.
	Path string `yaml:"path"`
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// TeamsTenant is the tenant the Teams bot serves: teams.tenant_id, else reset.tenant_id.
func (c *Config) TeamsTenant() string {
	if t := strings.TrimSpace(c.Teams.TenantID); t != "" {
		return t
	}
	return strings.TrimSpace(c.Reset.TenantID)
}

func (c *Config) validateTeams() error {
	t := &c.Teams
	if !guidRE.MatchString(strings.TrimSpace(t.AppID)) {
		return fmt.Errorf("teams.app_id: %q is not an app (client) id such as 00000000-0000-0000-0000-000000000000", t.AppID)
	}
	tenant := c.TeamsTenant()
	if tenant == "" {
		return errors.New("teams.tenant_id: needed with chat: teams (the bot is single-tenant; or set reset.tenant_id)")
	}
	if !guidRE.MatchString(tenant) {
		return fmt.Errorf("teams.tenant_id: %q is not a tenant id (a GUID)", tenant)
	}
	for key, v := range map[string]string{"teams.service_url": t.ServiceURL, "teams.openid_metadata_url": t.OpenIDMetadataURL, "teams.issuer": t.Issuer, "teams.token_url": t.TokenURL} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: %q is not an http(s) URL", key, v)
		}
	}
	if t.HelpdeskConversationID != "" && !strings.HasPrefix(t.HelpdeskConversationID, "19:") {
		return fmt.Errorf("teams.helpdesk_conversation_id: %q is not a channel conversation id (19:…@thread.tacv2)", t.HelpdeskConversationID)
	}
	if t.Path != "" && (!strings.HasPrefix(t.Path, "/") || strings.ContainsAny(t.Path, " {}")) {
		return fmt.Errorf("teams.path: %q must be a path such as /api/messages", t.Path)
	}
	return nil
}
