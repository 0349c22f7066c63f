package sqlite

// consoleSchemaV1 is the first console's schema, as commit d2ce1d0 created it:
// its rollups did not count deliveries and timed unlocks to the result "done".
// TestConsoleUpgradeFromV1 opens a database made with it.
const consoleSchemaV1 = `
CREATE TABLE IF NOT EXISTS alerts (
	id          TEXT PRIMARY KEY,
	time        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	platform    TEXT NOT NULL DEFAULT '',
	chat_user   TEXT NOT NULL DEFAULT '',
	user_upn    TEXT NOT NULL DEFAULT '',
	user_id     TEXT NOT NULL DEFAULT '',
	device_id   TEXT NOT NULL DEFAULT '',
	device_name TEXT NOT NULL DEFAULT '',
	device_os   TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	taken_by    TEXT NOT NULL DEFAULT '',
	taken_via   TEXT NOT NULL DEFAULT '',
	taken_at    TEXT NOT NULL DEFAULT '',
	resolved_by TEXT NOT NULL DEFAULT '',
	resolved_at TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts(resolved_at, time);
CREATE TABLE IF NOT EXISTS devices (
	device_id TEXT PRIMARY KEY,
	os        TEXT NOT NULL DEFAULT '',
	mode      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_flow ON events(flow, step);
CREATE INDEX IF NOT EXISTS events_user_id ON events(user_id, time);
CREATE INDEX IF NOT EXISTS events_chat_user ON events(chat_user, time);
CREATE TABLE IF NOT EXISTS event_hours (
	hour     TEXT NOT NULL,
	step     TEXT NOT NULL,
	outcome  TEXT NOT NULL,
	platform TEXT NOT NULL,
	os       TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (hour, step, outcome, platform, os)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unlocks (
	flow    TEXT PRIMARY KEY,
	done_ms INTEGER NOT NULL, -- Unix milliseconds of the result
	ms      INTEGER NOT NULL  -- confirmation to result
);
CREATE INDEX IF NOT EXISTS unlocks_done ON unlocks(done_ms, ms);
CREATE TRIGGER IF NOT EXISTS events_count AFTER INSERT ON events WHEN NEW.step IN ('request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested')
BEGIN
	INSERT INTO event_hours (hour, step, outcome, platform, os, n)
	VALUES (substr(NEW.time, 1, 13), NEW.step, NEW.outcome, NEW.platform, CASE WHEN NEW.step IN ('eligibility', 'result') THEN coalesce((SELECT os FROM devices WHERE device_id = NEW.device_id), '') ELSE '' END, 1)
	ON CONFLICT (hour, step, outcome, platform, os) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS events_uncount AFTER DELETE ON events WHEN OLD.step IN ('request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested')
BEGIN
	UPDATE event_hours SET n = n - 1 WHERE hour = substr(OLD.time, 1, 13) AND step = OLD.step AND outcome = OLD.outcome
		AND platform = OLD.platform AND os = CASE WHEN OLD.step IN ('eligibility', 'result') THEN coalesce((SELECT os FROM devices WHERE device_id = OLD.device_id), '') ELSE '' END;
	DELETE FROM event_hours WHERE n <= 0;
	DELETE FROM unlocks WHERE OLD.step = 'result' AND flow = OLD.flow;
END;
CREATE TRIGGER IF NOT EXISTS events_unlock AFTER INSERT ON events WHEN NEW.step = 'result' AND NEW.outcome = 'done' AND NEW.flow <> ''
BEGIN
	INSERT OR IGNORE INTO unlocks (flow, done_ms, ms)
	SELECT NEW.flow, CAST(round((julianday(NEW.time) - 2440587.5) * 86400000) AS INTEGER), CAST(round((julianday(NEW.time) - julianday(c.time)) * 86400000) AS INTEGER)
	FROM events c WHERE c.flow = NEW.flow AND c.step = 'confirm' LIMIT 1;
END;
`
