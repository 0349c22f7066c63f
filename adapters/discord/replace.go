package discord

import (
	"context"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/resetflow"
)

// replace edits the message an earlier one with the same Replace key sent, and
// reports whether it did. A message with a secret is never an update.
func (a *Adapter) replace(ctx context.Context, userID string, m resetflow.Message, r rendered) (bool, error) {
	if m.Replace == "" || m.Secret != nil {
		return false, nil
	}
	key := userID + "\x00" + m.Replace
	a.mu.Lock()
	at, ok := a.updated[key]
	if ok && m.Final {
		delete(a.updated, key)
	}
	a.mu.Unlock()
	if !ok {
		return false, nil
	}
	err := a.editMessage(&discordgo.MessageEdit{
		ID: at[1], Channel: at[0], Content: &r.content, Components: &r.components, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true))
	if err != nil {
		return true, safe("edit", err)
	}
	return true, nil
}

// remember notes where a message that later ones update was sent.
func (a *Adapter) remember(userID string, m resetflow.Message, channelID, messageID string) {
	if m.Replace == "" || m.Secret != nil || m.Final {
		return
	}
	a.mu.Lock()
	a.updated[userID+"\x00"+m.Replace] = [2]string{channelID, messageID}
	a.mu.Unlock()
}
