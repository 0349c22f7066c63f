-- Conversations open, so a bot that restarts after a crash tells the people
-- whose conversation it lost.
CREATE TABLE IF NOT EXISTS conversations (
	flow      TEXT PRIMARY KEY,
	platform  TEXT NOT NULL,
	chat_user TEXT NOT NULL,
	channel   TEXT NOT NULL DEFAULT '',
	locale    TEXT NOT NULL DEFAULT '',
	opened    TEXT NOT NULL
);
