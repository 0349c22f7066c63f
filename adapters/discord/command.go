package discord

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/catalog"
)

// CommandName is the slash command that starts a reset.
const CommandName = "reset-passcode"

// Command is the /reset-passcode application command: usable only in the
// bot's DM (context BOT_DM) of a server-installed app, with its description
// and a Japanese name from the catalog.
func Command(cat *catalog.Catalog) *discordgo.ApplicationCommand {
	contexts := []discordgo.InteractionContextType{discordgo.InteractionContextBotDM}
	integrations := []discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
	names := map[discordgo.Locale]string{discordgo.Japanese: cat.T("ja", "discord_command_name")}
	descs := map[discordgo.Locale]string{discordgo.Japanese: cat.T("ja", "discord_command_description")}
	return &discordgo.ApplicationCommand{
		Type:                     discordgo.ChatApplicationCommand,
		Name:                     CommandName,
		NameLocalizations:        &names,
		Description:              cat.T("en", "discord_command_description"),
		DescriptionLocalizations: &descs,
		Contexts:                 &contexts,
		IntegrationTypes:         &integrations,
		Options:                  []*discordgo.ApplicationCommandOption{},
	}
}

// sameCommand compares what Discord stores of a command with what we want.
func sameCommand(have, want *discordgo.ApplicationCommand) bool {
	locs := func(m *map[discordgo.Locale]string) map[discordgo.Locale]string {
		if m == nil {
			return nil
		}
		return *m
	}
	ctxs := func(p *[]discordgo.InteractionContextType) []discordgo.InteractionContextType {
		if p == nil {
			return nil
		}
		return *p
	}
	ints := func(p *[]discordgo.ApplicationIntegrationType) []discordgo.ApplicationIntegrationType {
		if p == nil {
			return nil
		}
		return *p
	}
	typ := func(t discordgo.ApplicationCommandType) discordgo.ApplicationCommandType {
		if t == 0 {
			return discordgo.ChatApplicationCommand
		}
		return t
	}
	return have.Name == want.Name && typ(have.Type) == typ(want.Type) && have.Description == want.Description &&
		maps.Equal(locs(have.NameLocalizations), locs(want.NameLocalizations)) &&
		maps.Equal(locs(have.DescriptionLocalizations), locs(want.DescriptionLocalizations)) &&
		slices.Equal(ctxs(have.Contexts), ctxs(want.Contexts)) &&
		slices.Equal(ints(have.IntegrationTypes), ints(want.IntegrationTypes)) &&
		len(have.Options) == 0 && len(want.Options) == 0
}

// registerCommand makes sure the global command exists as we want it: it reads
// the application's commands and writes ours only when it is missing or
// different. Writing creates or replaces it by name; other commands are left alone.
func (a *Adapter) registerCommand(ctx context.Context, appID string) error {
	if appID == "" {
		return errors.New("application id unknown")
	}
	want := Command(a.cat)
	have, err := a.rest.ApplicationCommands(appID, "", discordgo.WithContext(ctx))
	if err != nil {
		return err
	}
	for _, c := range have {
		if c.Name == CommandName && sameCommand(c, want) {
			a.log.Debug("the /" + CommandName + " command is registered already")
			return nil
		}
	}
	if _, err := a.rest.ApplicationCommandCreate(appID, "", want, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true)); err != nil {
		return err
	}
	a.log.Info("registered the /" + CommandName + " command")
	return nil
}
