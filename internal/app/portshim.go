package app

import (
	"context"
	"time"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/resetflow"
)

// pgOldPort adapts the PostgreSQL store to the Store port before BeginReset
// took the limit (branch sec). Deleted when that port is merged.
type pgOldPort struct {
	*postgres.DB
	limit int
}

func (p pgOldPort) BeginReset(ctx context.Context, r resetflow.InFlight) error {
	return p.DB.BeginReset(ctx, r, r.Started.Add(-24*time.Hour), p.limit)
}
