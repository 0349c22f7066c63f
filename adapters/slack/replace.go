package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/passcodebot/passcodebot/resetflow"
)

// replace updates the message an earlier one with the same Replace key posted
// (chat.update), and reports whether it did. A message with a secret is never
// an update. A message that answered a click in place (answer.go) keeps the
// clicked message's blocks above it.
func (a *Adapter) replace(ctx context.Context, userID string, m resetflow.Message, loc string) (bool, error) {
	if m.Replace == "" || m.Secret != nil {
		return false, nil
	}
	key := userID + "\x00" + m.Replace
	at, ok := a.updated.Get(key)
	if !ok || at == "" {
		return false, nil
	}
	channel, rest, _ := strings.Cut(at, "\x00")
	ts, rest, _ := strings.Cut(rest, "\x00")
	gen, prefix, _ := strings.Cut(rest, "\x00")
	if m.Final {
		a.updated.Set(key, "") // forgotten: nothing updates it any more
	}
	var text string
	var blocks []byte
	if prefix == "" {
		text, blocks = a.render(m, loc)
	} else {
		text, blocks = a.renderIDs(m, loc, gen)
		blocks = joinBlocks([]byte(prefix), blocks)
	}
	if err := a.update(ctx, channel, ts, text, true, blocks); err != nil {
		return true, fmt.Errorf("slack: updating %s: %w", channel, err)
	}
	return true, nil
}

// remember notes where a message that later ones update was posted, and the
// blocks above it when it answered a click in place.
func (a *Adapter) remember(userID string, m resetflow.Message, channel, ts, gen string, prefix []byte) {
	if m.Replace != "" && m.Secret == nil && !m.Final {
		a.updated.Set(userID+"\x00"+m.Replace, channel+"\x00"+ts+"\x00"+gen+"\x00"+string(prefix))
	}
}
