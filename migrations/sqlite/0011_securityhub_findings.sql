-- Security Hub findings to import ([securityhub] enabled): one row per control,
-- keyed like it. Every write that changes what the control's finding says bumps
-- `generation` and makes the row due now, in the same transaction as the control
-- row (so a crash between the commit and the import loses nothing: the row stays
-- due). The publisher claims due rows, imports the control's current finding, and
-- marks the generation it read as sent only if no change came meanwhile; a sent
-- row is due again before Security Hub's 90-day expiry.
CREATE TABLE securityhub_findings (
    workload_arn     TEXT PRIMARY KEY,
    generation       BIGINT NOT NULL DEFAULT 1,
    sent_generation  BIGINT,
    due_at           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    -- A publisher's claim, so replicas do not import the same row at once.
    claimed_by       TEXT,
    claimed_until    TEXT,
    sent_at          TEXT
);
CREATE INDEX securityhub_findings_due ON securityhub_findings (due_at);
