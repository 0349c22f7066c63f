package app

import (
	"github.com/passcodebot/passcodebot/adapters/discord"
	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/intune"
)

// The optional capabilities the wiring looks for, by their names in bot: a
// rename on either side fails the build instead of silently skipping the
// restore at start, the helpdesk check or the Graph ping.
var (
	_ bot.Restorer           = (*slackadapter.Adapter)(nil)
	_ bot.Restorer           = (*discord.Adapter)(nil)
	_ bot.HelpdeskConfigurer = (*discord.Adapter)(nil)
	_ bot.AlertPoster        = (*slackadapter.Adapter)(nil)
	_ bot.AlertPoster        = (*discord.Adapter)(nil)
	_ bot.Pinger             = (*intune.Client)(nil)
)
