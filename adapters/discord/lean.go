package discord

import (
	"encoding/json"
	"errors"

	"github.com/bwmarrin/discordgo"
)

// Messages in a person's DM are posted and edited through these rather than
// discordgo's ChannelMessageSendComplex and ChannelMessageEditComplex: the
// same routes, rate-limit buckets and errors, but Discord's answer (the whole
// message, with its author, components and embeds) is not decoded into
// discordgo's structs when the bot needs only the new message's id, or
// nothing (issue 17: that decoding was 8 % of the bot's CPU at 1,000 people).

// errNoMessageID is an answer to a post that names no message.
var errNoMessageID = errors.New("discord: the answer to a new message has no id")

// postMessage posts data in channelID and returns the new message's id.
func (a *Adapter) postMessage(channelID string, data *discordgo.MessageSend, opts ...discordgo.RequestOption) (string, error) {
	endpoint := discordgo.EndpointChannelMessages(channelID)
	body, err := a.rest.RequestWithBucketID("POST", endpoint, data, endpoint, opts...)
	if err != nil {
		return "", err
	}
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	if m.ID == "" {
		return "", errNoMessageID
	}
	return m.ID, nil
}

// editMessage edits a message; a 2xx answer is the edit done, and its body is not read further.
func (a *Adapter) editMessage(m *discordgo.MessageEdit, opts ...discordgo.RequestOption) error {
	_, err := a.rest.RequestWithBucketID("PATCH", discordgo.EndpointChannelMessage(m.Channel, m.ID), m, discordgo.EndpointChannelMessage(m.Channel, ""), opts...)
	return err
}
