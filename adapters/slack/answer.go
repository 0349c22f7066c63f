package slack

import (
	"context"
	"sync/atomic"

	"github.com/passcodebot/passcodebot/resetflow"
)

// A click on an engine message is answered in the message that was clicked:
// one chat.update takes its buttons away, adds the line naming what was
// chosen and, under it, the engine's answer (the sign-in link after a device,
// "Resetting…" after the warning). Before, the buttons went in one update
// and the answer came as a new message: two Web API calls where one does
// (issue 17). Only a click on the newest message of the DM is answered in
// place (the device list, the warning, as they are clicked), so the answer is
// where the person looks; a click further up is answered below. An answer
// that holds a passcode is always a new message, as before.
//
// The answer's blocks take the next generation's suffix on their block ids
// (Slack refuses a repeated block_id in a message): "_a" under a message as
// posted, "_b" under an "_a" answer, and so on. Buttons of the answer (the
// sign-in link's Cancel) are the message's buttons now: a click on them is
// told apart from the first by its block id's generation, and takes its own
// one click.

// clickAnswer is a click waiting for its answer, carried in the context of
// the engine's Handle (the engine answers within it).
type clickAnswer struct {
	user, channel, ts, label string
	gen                      string // the clicked button's generation (genOf)
	msg                      clickMessage
	state                    atomic.Int32 // answerOpen, answerTaken, answerFailed
}

const (
	answerOpen int32 = iota
	answerTaken
	answerFailed
)

// genOf is the generation of a block id: its suffix "_a" to "_z", or "" for
// a block of a message as posted (the bot's own ids end in a word or a digit).
func genOf(blockID string) string {
	if n := len(blockID); n >= 2 && blockID[n-2] == '_' && blockID[n-1] >= 'a' && blockID[n-1] <= 'z' {
		return blockID[n-2:]
	}
	return ""
}

// nextGen is the generation after gen; "" when there is none ("_z" is the last).
func nextGen(gen string) string {
	switch {
	case gen == "":
		return "_a"
	case gen[1] < 'z':
		return "_" + string(gen[1]+1)
	}
	return ""
}

// maxPrefixBlocks keeps an answer in place within Slack's 50 blocks a message.
const maxPrefixBlocks = 40

type clickAnswerKey struct{}

func withClickAnswer(ctx context.Context, c *clickAnswer) context.Context {
	return context.WithValue(ctx, clickAnswerKey{}, c)
}

// answerFor is the click that m, sent to to, may answer in place: the
// person's own click in the same DM, on its newest message (an answer
// written into a message further up would go unseen), not yet answered, and
// m no passcode and not an update of an earlier message.
func (a *Adapter) answerFor(ctx context.Context, to resetflow.Address, m resetflow.Message) *clickAnswer {
	c, _ := ctx.Value(clickAnswerKey{}).(*clickAnswer)
	if c == nil || m.Secret != nil || c.msg.Blocks == nil || len(c.msg.Blocks) > maxPrefixBlocks || nextGen(c.gen) == "" ||
		to.UserID != c.user || (to.Channel != "" && to.Channel != c.channel) ||
		!a.newestIn(c.user, c.channel, c.ts) {
		return nil
	}
	if !c.state.CompareAndSwap(answerOpen, answerTaken) {
		return nil
	}
	return c
}

// answered reports whether the click got its answer in place; if not, its
// buttons are still to be removed.
func (c *clickAnswer) answered() bool { return c.state.Load() == answerTaken }

// answerInPlace writes m under the clicked message's remaining blocks and the
// "chosen" line. On failure the answer is not shown: the caller posts it.
func (a *Adapter) answerInPlace(ctx context.Context, c *clickAnswer, m resetflow.Message, loc string) error {
	prefix := chosenBlocks(c.msg.Blocks, a.cat.T(a.localeOf(ctx, c.user), "slack_chosen", map[string]any{"Choice": c.label}), c.gen)
	gen := nextGen(c.gen)
	text, blocks := a.renderIDs(m, loc, gen)
	if err := a.update(ctx, c.channel, c.ts, text, true, joinBlocks(prefix, blocks)); err != nil {
		c.state.Store(answerFailed)
		a.log.Warn("answering a click in its message failed; posting the answer", "channel", c.channel, "err", err)
		return err
	}
	a.remember(c.user, m, c.channel, c.ts, gen, prefix)
	return nil
}

// joinBlocks is the two JSON arrays of blocks as one.
func joinBlocks(a, b []byte) []byte {
	switch {
	case len(a) <= 2:
		return b
	case len(b) <= 2:
		return a
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...)
}
