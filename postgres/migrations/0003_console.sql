-- The helpdesk console: the state of helpdesk alerts (taken, resolved), the
-- operating system of devices named in the trail, indexes for the trail's
-- searches, and the overview's rollups, kept by triggers in the same
-- transaction as the events they count (as in SQLite): a year of a large
-- company is tens of thousands of rollup rows to read instead of millions of
-- events to group. The rollups are filled from the trail already recorded.
CREATE TABLE IF NOT EXISTS alerts (
	id          TEXT PRIMARY KEY,
	seq         BIGSERIAL, -- the order alerts were saved in, for alerts of the same time
	time        TIMESTAMPTZ NOT NULL,
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
	taken_at    TIMESTAMPTZ,
	resolved_by TEXT NOT NULL DEFAULT '',
	resolved_at TIMESTAMPTZ,
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time, seq);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (time, seq) WHERE resolved_at IS NULL;

CREATE TABLE IF NOT EXISTS devices (
	device_id TEXT PRIMARY KEY,
	os        TEXT NOT NULL DEFAULT '',
	mode      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX IF NOT EXISTS events_flow ON events (flow, step);
CREATE INDEX IF NOT EXISTS events_upn ON events (user_upn, time);
CREATE INDEX IF NOT EXISTS events_user_id ON events (user_id, time);
CREATE INDEX IF NOT EXISTS events_chat_user ON events (chat_user, time);

-- Counts of the overview's steps by hour (UTC), step, outcome, chat platform
-- and, for eligibility, result and delivery, the device's OS as known when recorded.
CREATE TABLE IF NOT EXISTS event_hours (
	hour     TIMESTAMPTZ NOT NULL,
	step     TEXT NOT NULL,
	outcome  TEXT NOT NULL,
	platform TEXT NOT NULL,
	os       TEXT NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (hour, step, outcome, platform, os)
);
-- The confirmation and the delivery of every completed reset (its result shown in chat).
CREATE TABLE IF NOT EXISTS unlocks (
	flow      TEXT PRIMARY KEY,
	done      TIMESTAMPTZ NOT NULL,
	confirmed TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS unlocks_done ON unlocks (done, confirmed);

-- The trigger is per statement, over the rows the statement added (a batch
-- of events is one grouped upsert). Migrations may not name row removal at all
-- (internal/migrate), so there is no trigger on deleting events: Prune, the
-- only thing that deletes them, lowers the counts and forgets the unlock times
-- of the deliveries it deleted in the same statement (postgres/console.go).
CREATE FUNCTION passcodebot_events_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO event_hours AS h (hour, step, outcome, platform, os, n)
	SELECT date_trunc('hour', a.time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', a.step, a.outcome, a.platform,
		CASE WHEN a.step IN ('eligibility', 'result', 'delivery') THEN coalesce(d.os, '') ELSE '' END, count(*)
	FROM added a LEFT JOIN devices d ON d.device_id = a.device_id
	WHERE a.step IN ('request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested','delivery')
	GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
	ON CONFLICT (hour, step, outcome, platform, os) DO UPDATE SET n = h.n + excluded.n;
	INSERT INTO unlocks (flow, done, confirmed)
	SELECT DISTINCT ON (r.flow) r.flow, r.time, c.time
	FROM added r JOIN events c ON c.flow = r.flow AND c.step = 'confirm'
	WHERE r.step = 'delivery' AND r.outcome = 'sent' AND r.flow <> ''
	ORDER BY r.flow, r.id, c.id
	ON CONFLICT (flow) DO NOTHING;
	RETURN NULL;
END $$;

CREATE TRIGGER events_count AFTER INSERT ON events REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION passcodebot_events_count();

-- The trail recorded before this migration.
INSERT INTO event_hours (hour, step, outcome, platform, os, n)
SELECT date_trunc('hour', e.time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', e.step, e.outcome, e.platform, '', count(*)
FROM events e
WHERE e.step IN ('request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested','delivery')
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT DO NOTHING;
INSERT INTO unlocks (flow, done, confirmed)
SELECT DISTINCT ON (r.flow) r.flow, r.time, c.time
FROM events r JOIN events c ON c.flow = r.flow AND c.step = 'confirm'
WHERE r.step = 'delivery' AND r.outcome = 'sent' AND r.flow <> ''
ORDER BY r.flow, r.id, c.id
ON CONFLICT (flow) DO NOTHING;
