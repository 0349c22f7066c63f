package resetflow

import "time"

// freshSignIn reports whether a sign-in at authTime may stand for the window
// issued at issued, now: not before the link (less AuthSkew), not in the future
// (more than AuthSkew ahead of our clock), and no older than the window.
func (e *Engine) freshSignIn(authTime, issued, now time.Time) bool {
	return !authTime.IsZero() &&
		!authTime.Before(issued.Add(-e.cfg.AuthSkew)) &&
		!authTime.After(now.Add(e.cfg.AuthSkew)) &&
		now.Sub(authTime) <= e.cfg.Window
}
