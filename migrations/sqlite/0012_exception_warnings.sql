-- notify.exception_expiry_warning: one row per warning that an exception a
-- control uses will expire, keyed by the control, the setting's identity (its
-- scope and keys) and the expiry, so each is announced once across restarts and
-- replicas (INSERT ... ON CONFLICT DO NOTHING), and a setting whose expiry moves
-- is a new warning. The row is also its own outbox entry (written in one
-- statement, so the record and the event to send cannot part): the notify
-- publisher sends the payload as an `Exception Expiring` event and marks it
-- published once EventBridge accepted it.
CREATE TABLE exception_warnings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    workload_arn   TEXT NOT NULL,
    setting        TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    -- A publisher's claim, so replicas do not send the same row at once.
    claimed_by     TEXT,
    claimed_until  TEXT,
    published_at   TEXT,
    UNIQUE (workload_arn, setting, expires_at)
);
CREATE INDEX exception_warnings_pending ON exception_warnings (published_at, id);
