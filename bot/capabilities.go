package bot

import (
	"context"
	"time"
)

// Restorer is an adapter that shows temporary passcodes and can take back the
// ones an earlier run left on screen (it stopped without warning): at start
// the program hands it each message its ledger still holds, and the adapter
// removes it at its time, or now when overdue.
type Restorer interface {
	Restore(channel, messageID, locale string, at time.Time)
}

// HelpdeskConfigurer is an AlertPoster that may have no helpdesk channel
// configured; without one it gets no alerts.
type HelpdeskConfigurer interface {
	HelpdeskConfigured() bool
}

// Pinger is a backend (the device port's Graph client) that can say whether
// it is reachable; it feeds /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}
