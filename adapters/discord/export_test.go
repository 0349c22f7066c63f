package discord

import "context"

// WatchdogStats reports Open() calls and restarts.
func (a *Adapter) WatchdogStats() (attempts, restarts int) { return a.gw.stats() }

// WatchdogChanged is closed at the watchdog's next change.
func (a *Adapter) WatchdogChanged() <-chan struct{} { return a.gw.watch() }

// RegisterCommand registers the slash command now.
func (a *Adapter) RegisterCommand(ctx context.Context, appID string) error {
	return a.registerCommand(ctx, appID)
}
