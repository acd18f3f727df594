-- Muting: a muted control is still evaluated and its transitions recorded, but
-- they are not announced. A mute lasts until a time, until the control reaches a
-- state, or until unmuted.
ALTER TABLE controls ADD COLUMN muted_at TEXT;
ALTER TABLE controls ADD COLUMN muted_until TEXT;
ALTER TABLE controls ADD COLUMN muted_until_state TEXT;
ALTER TABLE controls ADD COLUMN muted_by TEXT;
ALTER TABLE controls ADD COLUMN muted_reason TEXT;

-- Every mute and unmute, with who and why.
CREATE TABLE mutes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workload_id   TEXT NOT NULL,
    workload_arn  TEXT NOT NULL,
    action        TEXT NOT NULL,
    until         TEXT,
    until_state   TEXT,
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    occurred_at   TEXT NOT NULL
);
CREATE INDEX mutes_workload_arn ON mutes (workload_arn);

-- Whether the transition happened while muted (and so was not announced).
ALTER TABLE transitions ADD COLUMN muted BIGINT NOT NULL DEFAULT 0;
