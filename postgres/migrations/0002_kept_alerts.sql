-- Helpdesk alerts a stopped bot had not delivered, posted by the next leader.
CREATE TABLE IF NOT EXISTS kept_alerts (
	channel TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	data    JSONB NOT NULL,
	PRIMARY KEY (channel, seq)
);
