package discord

import (
	"fmt"
	"net/url"
)

// EnvToken is the environment variable that holds the bot token; it never
// goes in the configuration file.
const EnvToken = "PASSCODEBOT_DISCORD_TOKEN"

// Section is the discord: section of the configuration file.
type Section struct {
	// APIURL is Discord's REST API, or a REST proxy in front of it; the gateway URL comes from it.
	APIURL string `yaml:"api_url"`
	// ApplicationID is the application's id; empty: read from Discord at start.
	ApplicationID string `yaml:"application_id"`
	// HelpdeskChannelID is the guild channel for helpdesk alerts; empty: none on Discord.
	HelpdeskChannelID string `yaml:"helpdesk_channel_id"`
	// LinksPreload is a YAML or CSV file of links loaded into the database at every start; empty: none.
	LinksPreload string `yaml:"links_preload"`
}

// Validate checks the section (defaults already applied). Errors name the key.
func (d *Section) Validate() error {
	u, err := url.Parse(d.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("discord.api_url: %q is not an http(s) URL", d.APIURL)
	}
	for key, v := range map[string]string{"discord.application_id": d.ApplicationID, "discord.helpdesk_channel_id": d.HelpdeskChannelID} {
		if v != "" && !IsSnowflake(v) {
			return fmt.Errorf("%s: %q is not a Discord id (digits only)", key, v)
		}
	}
	return nil
}
