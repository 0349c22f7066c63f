-- The bot's durable state: the audit trail, resets (counted toward the daily
-- limit; open ones are in flight), chat account links, passcode messages still
-- shown, conversations open, and the leader lease of the replicas.
CREATE TABLE IF NOT EXISTS events (
	id        BIGSERIAL PRIMARY KEY,
	time      TIMESTAMPTZ NOT NULL,
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
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_user ON events (lower(user_upn), time);
CREATE INDEX IF NOT EXISTS events_device ON events (device_id, time);

CREATE TABLE IF NOT EXISTS resets (
	flow      TEXT PRIMARY KEY,
	user_key  TEXT NOT NULL,
	started   TIMESTAMPTZ NOT NULL,
	ended     TIMESTAMPTZ,
	outcome   TEXT NOT NULL DEFAULT '',
	delivered BOOLEAN NOT NULL DEFAULT FALSE,
	data      JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS resets_user ON resets (user_key, started);
CREATE INDEX IF NOT EXISTS resets_open ON resets (started) WHERE ended IS NULL;

CREATE TABLE IF NOT EXISTS links (
	platform  TEXT NOT NULL,
	chat_user TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	user_upn  TEXT NOT NULL,
	name      TEXT NOT NULL DEFAULT '',
	created   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (platform, chat_user)
);

CREATE TABLE IF NOT EXISTS shown_secrets (
	platform   TEXT NOT NULL,
	channel    TEXT NOT NULL,
	message_id TEXT NOT NULL,
	locale     TEXT NOT NULL DEFAULT '',
	remove_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (platform, channel, message_id)
);

CREATE TABLE IF NOT EXISTS conversations (
	flow      TEXT PRIMARY KEY,
	platform  TEXT NOT NULL,
	chat_user TEXT NOT NULL,
	channel   TEXT NOT NULL DEFAULT '',
	locale    TEXT NOT NULL DEFAULT '',
	opened    TIMESTAMPTZ NOT NULL
);

-- The leader lease: one row per lease name. token grows by one at every change
-- of holder (the fencing token); expires is in the database's clock.
CREATE TABLE IF NOT EXISTS leases (
	name    TEXT PRIMARY KEY,
	holder  TEXT NOT NULL,
	token   BIGINT NOT NULL,
	expires TIMESTAMPTZ NOT NULL
);
