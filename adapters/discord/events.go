package discord

import (
	"context"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Custom id prefixes: an engine action (the Value of a Button or Choice), and
// the helpdesk's "I'm on it" (the alert id).
const (
	prefixAction = "pc|"
	prefixTake   = "ht|"
	selectID     = prefixAction + "choice" // the device select menu; its values are engine actions
)

// maxInteractionAge is how old an interaction may be and still be answered:
// Discord's interaction tokens last 15 minutes. Anything older (replayed after
// a long outage) is dropped without a word.
const maxInteractionAge = 15 * time.Minute

// onMessage takes a MESSAGE_CREATE. Only people's direct messages count.
func (a *Adapter) onMessage(m *discordgo.MessageCreate) {
	if m.Author == nil || m.Author.Bot || m.GuildID != "" {
		return
	}
	a.mu.Lock()
	self := a.botID
	a.mu.Unlock()
	if m.Author.ID == self || (m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply) {
		return
	}
	text := strings.TrimSpace(m.Content)
	if text == "" {
		return
	}
	a.mu.Lock()
	if _, ok := a.dms[m.Author.ID]; !ok && m.ChannelID != "" {
		a.heard[m.Author.ID] = m.ChannelID
		a.dmOwners[m.ChannelID] = m.Author.ID
	}
	a.mu.Unlock()
	in := resetflow.Input{
		From:   resetflow.Address{Platform: Platform, UserID: m.Author.ID, Channel: m.ChannelID},
		Email:  "", // Discord accounts carry no company email: the engine uses the account link
		Locale: a.localeOf(m.Author.ID),
		Text:   text,
		// Anyone can make a Discord account: it reaches a company account only by pairing.
		Unverified: true, AccountName: accountName(m.Author),
	}
	a.queues.Do(m.Author.ID, func() {
		h, ctx := a.handler()
		if h != nil {
			h.Handle(ctx, in)
		}
	})
}

// accountName is how pages name a Discord account: the display name, and the
// username that no one else can hold ("Alice (@alice)").
func accountName(u *discordgo.User) string {
	if u == nil || u.Username == "" {
		return ""
	}
	if u.GlobalName != "" && u.GlobalName != u.Username {
		return u.GlobalName + " (@" + u.Username + ")"
	}
	return "@" + u.Username
}

func (a *Adapter) localeOf(userID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.locales[userID]
}

func (a *Adapter) rememberLocale(userID string, l discordgo.Locale) {
	if l == "" {
		return
	}
	a.mu.Lock()
	a.locales[userID] = string(l)
	a.mu.Unlock()
}

func interactionUser(i *discordgo.Interaction) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// onInteraction takes an INTERACTION_CREATE on the gateway reader. It decides
// at once whether the interaction counts (each id once; each component of a
// message once) and starts the acknowledgement in its own goroutine, so Discord
// has its answer well within 3 seconds; the work follows in the person's queue.
func (a *Adapter) onInteraction(ic *discordgo.InteractionCreate) {
	i := ic.Interaction
	if i == nil {
		return
	}
	u := interactionUser(i)
	if u == nil || u.Bot {
		return
	}
	if !a.seen.Add("i\x00"+i.ID, struct{}{}) {
		return // delivered twice (a RESUME replays events)
	}
	if t, ok := snowflakeTime(i.ID); ok && a.clk.Now().Sub(t) > maxInteractionAge {
		a.log.Info("dropping a stale interaction", "interaction", i.ID, "age", a.clk.Now().Sub(t).Round(time.Second))
		return
	}
	a.rememberLocale(u.ID, i.Locale)
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		a.onCommand(i, u)
	case discordgo.InteractionMessageComponent:
		a.onComponent(i, u)
	}
}

// inBotDM reports whether the interaction comes from the person's DM with the
// bot. A payload without "context" (0) and without a guild is a DM too; a
// user-installed app's context PRIVATE_CHANNEL (another person's DM) is not.
func inBotDM(i *discordgo.Interaction) bool {
	return i.GuildID == "" && (i.Context == discordgo.InteractionContextBotDM || i.Context == discordgo.InteractionContextGuild)
}

// refuseNotDM answers an interaction from anywhere but the bot's DM with a
// message only that person sees.
func (a *Adapter) refuseNotDM(i *discordgo.Interaction) {
	err := a.answers.InteractionRespond(i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: a.cat.T(string(i.Locale), "refused_not_dm"), Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noMentions()},
	})
	if err != nil {
		a.log.Warn("answering an interaction outside a DM failed", "err", safe("", err))
	}
}

// ack answers an interaction with a deferred update (type 6): "got it, the
// message will change". It reports whether Discord took the answer.
func (a *Adapter) ack(i *discordgo.Interaction, typ discordgo.InteractionResponseType) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := a.answers.InteractionRespond(i, &discordgo.InteractionResponse{Type: typ}, discordgo.WithContext(ctx))
	if err == nil {
		return true
	}
	a.log.Warn("acknowledging an interaction failed; ignoring it", "interaction", i.ID, "discord_error", apiCode(err), "err", safe("", err))
	return false
}

// updateResponse is an interaction answer of type 7 (UPDATE_MESSAGE) that
// changes only the message's components: discordgo's InteractionResponseData
// always sends "content", which would empty the message.
type updateResponse struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data struct {
		Components []discordgo.MessageComponent `json:"components"`
	} `json:"data"`
}

// ackSettled answers a click on a person's message by updating that message
// to comps (its buttons disabled, the used one marked) in the same call. It
// reports whether Discord took the answer.
func (a *Adapter) ackSettled(i *discordgo.Interaction, comps []discordgo.MessageComponent) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r := updateResponse{Type: discordgo.InteractionResponseUpdateMessage}
	r.Data.Components = comps
	endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	_, err := a.answers.RequestWithBucketID("POST", endpoint, r, endpoint, discordgo.WithContext(ctx))
	if err == nil {
		return true
	}
	a.log.Warn("acknowledging an interaction failed; ignoring it", "interaction", i.ID, "discord_error", apiCode(err), "err", safe("", err))
	return false
}

// onComponent takes a button click or a select.
func (a *Adapter) onComponent(i *discordgo.Interaction, u *discordgo.User) {
	data := i.MessageComponentData()
	if i.Message == nil {
		return
	}
	// A person's message is used up by its first click (a device, Cancel, Reset);
	// on a helpdesk digest each alert's button counts on its own.
	key := "m\x00" + i.Message.ID
	switch {
	case strings.HasPrefix(data.CustomID, prefixTake):
		if i.ChannelID != a.cfg.HelpdeskChannelID || i.GuildID == "" {
			return
		}
		key += "\x00" + data.CustomID
	case strings.HasPrefix(data.CustomID, prefixAction):
		if !inBotDM(i) {
			go a.refuseNotDM(i)
			return
		}
		// Only the person whose DM holds the message may use it: a click from
		// anyone else is ignored and does not use the message up.
		if i.Message.ChannelID != "" && i.Message.ChannelID != i.ChannelID {
			a.log.Warn("ignoring a click whose message is in another channel", "chat_user", u.ID, "channel", i.ChannelID)
			return
		}
		switch owns, known := a.ownsChannel(u.ID, i.ChannelID); {
		case !known:
			// A message from before a restart: ask Discord for the clicker's DM
			// (well within the 3 seconds an acknowledgement may take).
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				dm, err := a.dmChannel(ctx, u.ID)
				if err != nil || dm != i.ChannelID {
					a.log.Warn("ignoring a click on another person's message", "chat_user", u.ID, "channel", i.ChannelID, "err", err)
					return
				}
				a.takeComponent(i, u, data, key)
			}()
			return
		case !owns:
			a.log.Warn("ignoring a click on another person's message", "chat_user", u.ID, "channel", i.ChannelID)
			return
		}
	default:
		return
	}
	a.takeComponent(i, u, data, key)
}

// dmFromInteraction takes Discord's word, in an interaction it delivered and
// took the answer to, that its channel is userID's DM with the bot: the
// context BOT_DM (1) outside any server is Discord saying the interaction
// came from the DM between that person and the bot, as its answer to
// "open the DM" would. A payload without context (0) proves nothing here. A
// DM already confirmed, or a channel known as someone else's, is kept as it
// is. So the passcode after a "Reset passcode" press goes without a request
// to open the DM (issue 17: one call per reset; discordgo sends those one at
// a time for all people).
func (a *Adapter) dmFromInteraction(i *discordgo.Interaction, userID string) {
	if i.Context != discordgo.InteractionContextBotDM || i.GuildID != "" || i.ChannelID == "" || userID == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.dms[userID]; ok {
		return
	}
	if owner, ok := a.dmOwners[i.ChannelID]; ok && owner != userID {
		return
	}
	a.dms[userID] = i.ChannelID
	a.dmOwners[i.ChannelID] = userID
	delete(a.heard, userID)
}

// ownsChannel reports whether channelID is userID's DM with the bot, and
// whether the adapter knows (it knows the DMs it sent to in this run).
func (a *Adapter) ownsChannel(userID, channelID string) (owns, known bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if dm, ok := a.dms[userID]; ok {
		return dm == channelID, true
	}
	if dm, ok := a.heard[userID]; ok {
		return dm == channelID, true // a person has one DM with the bot
	}
	if _, ok := a.dmOwners[channelID]; ok {
		return false, true // someone else's DM
	}
	return false, false
}

// takeComponent acts on a click that counts: once per message (key).
func (a *Adapter) takeComponent(i *discordgo.Interaction, u *discordgo.User, data discordgo.MessageComponentInteractionData, key string) {
	if !a.used.Add(key, struct{}{}) {
		// This message was acted on already (a double click, or a click on an
		// old message from a screen that hasn't caught up): acknowledge it so
		// Discord shows no error, and do nothing more.
		go a.ack(i, discordgo.InteractionResponseDeferredMessageUpdate)
		return
	}
	_, take := strings.CutPrefix(data.CustomID, prefixTake)
	acked := make(chan bool, 1)
	go func() {
		var ok bool
		if take {
			ok = a.ack(i, discordgo.InteractionResponseDeferredMessageUpdate)
		} else {
			// The answer itself takes the used message's buttons off (type 7):
			// no edit of its own after it.
			ok = a.ackSettled(i, settled(i.Message.Components, data.CustomID, data.Values))
		}
		if !ok {
			a.used.Remove(key) // not answered, so not acted on: a fresh click may count
		}
		acked <- ok
	}()

	if id, ok := strings.CutPrefix(data.CustomID, prefixTake); ok {
		a.queues.Do("helpdesk", func() {
			if <-acked {
				a.takeAlert(i, u, id)
			}
		})
		return
	}
	action := strings.TrimPrefix(data.CustomID, prefixAction)
	if data.CustomID == selectID {
		if len(data.Values) != 1 {
			return
		}
		action = data.Values[0]
	}
	in := resetflow.Input{
		From:   resetflow.Address{Platform: Platform, UserID: u.ID, Channel: i.ChannelID},
		Locale: string(i.Locale),
		Action: action,
		// Anyone can make a Discord account: it reaches a company account only by pairing.
		Unverified: true, AccountName: accountName(u),
	}
	a.queues.Do(u.ID, func() {
		if !<-acked {
			return
		}
		a.forgetLive(i)
		a.dmFromInteraction(i, u.ID)
		h, ctx := a.handler()
		if h != nil {
			h.Handle(ctx, in)
		}
	})
}

// onCommand takes /reset-passcode.
func (a *Adapter) onCommand(i *discordgo.Interaction, u *discordgo.User) {
	if i.ApplicationCommandData().Name != CommandName {
		return
	}
	if !inBotDM(i) {
		go a.refuseNotDM(i)
		return
	}
	acked := make(chan bool, 1)
	go func() { acked <- a.ack(i, discordgo.InteractionResponseDeferredChannelMessageWithSource) }()
	in := resetflow.Input{
		From:   resetflow.Address{Platform: Platform, UserID: u.ID, Channel: i.ChannelID},
		Locale: string(i.Locale),
		Text:   "/" + CommandName,
		// Anyone can make a Discord account: it reaches a company account only by pairing.
		Unverified: true, AccountName: accountName(u),
	}
	a.queues.Do(u.ID, func() {
		if !<-acked {
			return
		}
		// The engine's first reply fills the "thinking…" answer; the rest are messages.
		p := &pendingOriginal{i: i, expires: a.clk.Now().Add(maxInteractionAge)}
		a.mu.Lock()
		a.originals[u.ID] = p
		a.mu.Unlock()
		h, ctx := a.handler()
		if h != nil {
			h.Handle(ctx, in)
		}
		a.mu.Lock()
		if a.originals[u.ID] == p {
			delete(a.originals, u.ID)
		}
		a.mu.Unlock()
		if !p.used.Load() {
			// Nothing was said: remove the "thinking…" answer rather than leave it spinning.
			if err := a.rest.InteractionResponseDelete(i); err != nil {
				a.log.Warn("removing an unused command answer failed", "err", safe("", err))
			}
		}
	})
}
