-- Current state: one row per control (one control per workload ARN).
-- Timestamps are RFC 3339 UTC text with fixed microsecond precision, so they sort
-- as text and read the same on SQLite and Postgres.
CREATE TABLE controls (
    workload_arn  TEXT PRIMARY KEY,
    workload_id   TEXT NOT NULL,
    workload_name TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    region        TEXT NOT NULL,
    control_type  TEXT NOT NULL DEFAULT 'rel04',
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}',
    -- Which account-region scan last saw the workload; removal is decided per scan.
    scanned_by    TEXT NOT NULL,
    -- Optimistic concurrency: every write checks and bumps it, so two writers can
    -- never both record the same change.
    version       BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    evaluated_at  TEXT,
    removed_at    TEXT
);
CREATE INDEX controls_workload_id ON controls (workload_id);
CREATE INDEX controls_state ON controls (state);
CREATE INDEX controls_scanned_by ON controls (scanned_by);

-- History: one row per state change, never updated.
CREATE TABLE transitions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workload_id   TEXT NOT NULL,
    workload_arn  TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    region        TEXT NOT NULL,
    control_type  TEXT NOT NULL DEFAULT 'rel04',
    from_state    TEXT,
    to_state      TEXT NOT NULL,
    reason        TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}',
    "trigger"     TEXT NOT NULL,
    event_id      TEXT,
    -- 'enforced' when rel04d wrote the answer; changes lists what it wrote (JSON).
    action        TEXT,
    changes       TEXT,
    occurred_at   TEXT NOT NULL
);
CREATE INDEX transitions_workload_arn ON transitions (workload_arn);
CREATE INDEX transitions_occurred_at ON transitions (occurred_at);
