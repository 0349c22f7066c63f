-- Helpdesk alerts a stopped bot had not delivered, posted at the next start.
-- (The resets.delivered column is added in Go, by addDelivered: files made
-- before versioned migrations may have it already, and SQLite has no
-- ADD COLUMN IF NOT EXISTS.)
CREATE TABLE IF NOT EXISTS kept_alerts (
	channel TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	data    TEXT NOT NULL,
	PRIMARY KEY (channel, seq)
);
