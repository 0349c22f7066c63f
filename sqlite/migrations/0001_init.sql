-- The schema as it was before versioned migrations (IF NOT EXISTS: a database
-- made by an earlier version adopts it unchanged).
CREATE TABLE IF NOT EXISTS events (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	time      TEXT NOT NULL,
	flow      TEXT NOT NULL DEFAULT '',
	step      TEXT NOT NULL,
	platform  TEXT NOT NULL DEFAULT '',
	chat_user TEXT NOT NULL DEFAULT '',
	user_id   TEXT NOT NULL DEFAULT '',
	user_upn  TEXT NOT NULL DEFAULT '',
	device_id TEXT NOT NULL DEFAULT '',
	outcome   TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_user ON events(user_upn, time);
CREATE INDEX IF NOT EXISTS events_device ON events(device_id, time);
CREATE TABLE IF NOT EXISTS resets (
	flow    TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	started TEXT NOT NULL,
	ended   TEXT,
	outcome TEXT NOT NULL DEFAULT '',
	data    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resets_user ON resets(user_id, started);
CREATE INDEX IF NOT EXISTS resets_open ON resets(ended);
CREATE TABLE IF NOT EXISTS links (
	platform  TEXT NOT NULL,
	chat_user TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	user_upn  TEXT NOT NULL,
	name      TEXT NOT NULL DEFAULT '',
	created   TEXT NOT NULL,
	PRIMARY KEY (platform, chat_user)
);
CREATE TABLE IF NOT EXISTS shown_secrets (
	platform   TEXT NOT NULL,
	channel    TEXT NOT NULL,
	message_id TEXT NOT NULL,
	locale     TEXT NOT NULL DEFAULT '',
	remove_at  TEXT NOT NULL,
	PRIMARY KEY (platform, channel, message_id)
);
