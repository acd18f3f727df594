-- Transactional outbox: one row per transition to publish, written in the same
-- transaction as the transition; the publisher marks it published once
-- EventBridge accepted it. A crash between commit and publish leaves the row
-- unpublished, so it is sent after restart.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transition_id  BIGINT NOT NULL UNIQUE,
    payload        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    -- A publisher's claim, so replicas do not send the same row at once.
    claimed_by     TEXT,
    claimed_until  TEXT,
    published_at   TEXT
);
CREATE INDEX outbox_pending ON outbox (published_at, id);

-- EventBridge event ids already handled, so redelivered and duplicate events are
-- acknowledged without work. Kept longer than the queue's retention (14 days).
CREATE TABLE processed_events (
    event_id      TEXT PRIMARY KEY,
    received_at   TEXT NOT NULL,
    outcome       TEXT NOT NULL
);
CREATE INDEX processed_events_received_at ON processed_events (received_at);

-- Events pushed to POST /events, stored before the 202 so none is lost.
CREATE TABLE inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    body          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    processed_at  TEXT
);
CREATE INDEX inbox_pending ON inbox (processed_at, id);
