package app

import (
	"context"

	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/sqlite"
)

// secretLedger is the passcode-on-screen ledger of one platform in SQLite's
// shown_secrets (SQLite or PostgreSQL). The database opens after the adapters are made, so it is
// reached through the wiring's variable.
type secretLedger struct {
	db       *store
	platform string
}

func (l secretLedger) Shown(ctx context.Context, it onscreen.Item) error {
	return (*l.db).SecretShown(ctx, sqlite.ShownSecret{Platform: l.platform, Channel: it.Channel, MessageID: it.MessageID, Locale: it.Locale, RemoveAt: it.RemoveAt})
}

func (l secretLedger) Removed(ctx context.Context, channel, messageID string) error {
	return (*l.db).SecretRemoved(ctx, l.platform, channel, messageID)
}
