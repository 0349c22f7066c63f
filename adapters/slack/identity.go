package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unique"

	slackgo "github.com/slack-go/slack"
)

// member is what the bot needs to know about a Slack user, from users.info.
type member struct {
	id       string
	email    string // the directory identity: the profile email, rewritten
	locale   string // Slack's, e.g. "ja-JP"
	teamID   string // the user's workspace
	entID    string // the user's Enterprise Grid org, if any
	bot      bool
	stranger bool
	deleted  bool
}

// member returns the user's profile, from the cache while it is fresh.
func (a *Adapter) member(ctx context.Context, id string) (*member, error) {
	if m, ok := a.users.Get(id); ok {
		return m, nil
	}
	u, err := a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("users.info: %w", err)
	}
	// A profile is cached for every person who writes (issue 8: 10,000 held
	// conversations at most 2 KiB each): the id is the cache key's own string,
	// and the locale and workspace, which everyone shares, one canonical copy.
	uid := u.ID
	if uid == id {
		uid = id
	}
	m := &member{
		id:       uid,
		email:    a.rewrite(u.Profile.Email),
		locale:   unique.Make(u.Locale).Value(),
		bot:      u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.ID == "USLACKBOT",
		stranger: u.IsStranger,
		deleted:  u.Deleted,
		teamID:   unique.Make(u.TeamID).Value(),
		entID:    unique.Make(u.Enterprise.EnterpriseID).Value(),
	}
	a.users.Set(id, m)
	return m, nil
}

// sameOrg reports whether m is a member of the bot's workspace or Enterprise
// Grid org. It is decided when asked, not when the profile is cached: a profile
// may be looked up (for a message's locale, say) before auth.test has told the
// adapter its own workspace, and must not be cached as a stranger then.
func (a *Adapter) sameOrg(ctx context.Context, m *member) bool {
	select {
	case <-a.ready:
	case <-ctx.Done():
		return false
	}
	return m.teamID == a.teamID || (a.entID != "" && (m.teamID == a.entID || m.entID == a.entID))
}

// rewrite maps a Slack email to the directory identity by its configured
// domain suffix; the longest matching suffix wins.
func (a *Adapter) rewrite(email string) string {
	email = strings.TrimSpace(email)
	best := ""
	for from := range a.cfg.EmailDomainRewrite {
		if n := len(email) - len(from); from != "" && n > 0 && len(from) > len(best) && strings.EqualFold(email[n:], from) {
			best = from
		}
	}
	if best == "" {
		return email
	}
	return email[:len(email)-len(best)] + a.cfg.EmailDomainRewrite[best]
}

// admit decides whether the user's input may reach the engine: only people of
// this workspace who have an email. Others get a polite refusal through reply
// (a bot at most once an hour, so two bots never talk in circles).
func (a *Adapter) admit(ctx context.Context, user string, reply func(ctx context.Context, loc, id string)) (*member, bool) {
	m, err := a.member(ctx, user)
	if err != nil {
		a.log.Warn("looking up a Slack user failed; their input is dropped", "chat_user", user, "err", err)
		return nil, false
	}
	switch {
	case m.deleted:
		return nil, false
	case m.bot:
		if a.refused.Add(user, struct{}{}) {
			reply(ctx, m.locale, "refused_bot")
		}
		return nil, false
	case m.stranger || !a.sameOrg(ctx, m):
		a.log.Info("refused an external Slack user", "chat_user", user)
		reply(ctx, m.locale, "refused_external")
		return nil, false
	case m.email == "":
		a.log.Info("refused a Slack user without an email", "chat_user", user)
		reply(ctx, m.locale, "refused_no_email")
		return nil, false
	}
	return m, true
}

// localeOf is the user's Slack locale, or "" (the catalog's default) when unknown.
func (a *Adapter) localeOf(ctx context.Context, user string) string {
	m, err := a.member(ctx, user)
	if err != nil {
		return ""
	}
	return m.locale
}

var errNotIM = errors.New("conversations.open did not answer the user's own IM")

// imOf is the bot's direct-message channel with user: as their own DM's event
// gave it (receive.go), or opened and checked to be an IM with exactly that user.
func (a *Adapter) imOf(ctx context.Context, user string) (string, error) {
	if d, ok := a.ims.Get(user); ok {
		return d.channel, nil
	}
	ch, _, _, err := a.api.OpenConversationContext(ctx, &slackgo.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
	if err != nil {
		return "", fmt.Errorf("conversations.open: %w", err)
	}
	if ch == nil || ch.ID == "" {
		return "", errNotIM
	}
	if !ch.IsIM || ch.User != user {
		// Ask again about the channel itself rather than trust a partial answer.
		info, err := a.api.GetConversationInfoContext(ctx, &slackgo.GetConversationInfoInput{ChannelID: ch.ID})
		if err != nil {
			return "", fmt.Errorf("conversations.info: %w", err)
		}
		if !info.IsIM || info.User != user {
			return "", fmt.Errorf("%w: channel %s is_im=%v user=%q", errNotIM, ch.ID, info.IsIM, info.User)
		}
	}
	a.sawIM(user, ch.ID, "")
	return ch.ID, nil
}

// reply posts a catalog sentence to a DM channel.
func (a *Adapter) reply(ctx context.Context, channel, loc, id string) {
	text := a.cat.T(loc, id)
	if _, err := a.post(ctx, channel, text, textBlocks("pcb_text", text)); err != nil {
		a.log.Warn("posting a reply failed", "channel", channel, "message", id, "err", err)
	}
}

// ephemeral answers a slash command with a catalog sentence only its user sees.
func (a *Adapter) ephemeral(ctx context.Context, responseURL, loc, id string) {
	if responseURL == "" {
		return
	}
	_, _, _, err := a.api.SendMessageContext(ctx, "",
		slackgo.MsgOptionResponseURL(responseURL, slackgo.ResponseTypeEphemeral),
		slackgo.MsgOptionText(a.cat.T(loc, id), false))
	if err != nil {
		a.log.Warn("answering a slash command failed", "message", id, "err", err)
	}
}
