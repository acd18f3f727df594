-- A control per (workload, lens, question) (issue 23): `lens` is the lens as
-- configured (the alias `wellarchitected` for AWS lenses, the lens ARN for a
-- custom lens), `question_id` the Tool's QuestionId. Every row written before
-- this migration is REL 04's control of the `wellarchitected` lens, which the
-- defaults say. Every table that names one control carries the pair and keys by
-- it; SQLite cannot change a primary key or a table's UNIQUE constraint in place,
-- so those tables are rebuilt, keeping every row, default and index.
-- `lens_status` is the lens review's LensStatus (CURRENT, NOT_CURRENT,
-- DEPRECATED, DELETED, UNSHARED) as last read; NULL when not read yet.
CREATE TABLE controls_0013 (
    workload_arn      TEXT NOT NULL,
    lens              TEXT NOT NULL DEFAULT 'wellarchitected',
    question_id       TEXT NOT NULL DEFAULT 'prevent-interaction-failure',
    workload_id       TEXT NOT NULL,
    workload_name     TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    region            TEXT NOT NULL,
    control_type      TEXT NOT NULL DEFAULT 'rel04',
    state             TEXT NOT NULL,
    reason            TEXT NOT NULL,
    details           TEXT NOT NULL DEFAULT '{}',
    scanned_by        TEXT NOT NULL,
    version           BIGINT NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    evaluated_at      TEXT,
    removed_at        TEXT,
    lease_owner       TEXT,
    lease_until       TEXT,
    muted_at          TEXT,
    muted_until       TEXT,
    muted_until_state TEXT,
    muted_by          TEXT,
    muted_reason      TEXT,
    settled_state     TEXT,
    settled_through   BIGINT,
    lens_status       TEXT,
    PRIMARY KEY (workload_arn, lens, question_id)
);
INSERT INTO controls_0013 (workload_arn, workload_id, workload_name, account_id, region,
    control_type, state, reason, details, scanned_by, version, created_at, updated_at,
    evaluated_at, removed_at, lease_owner, lease_until, muted_at, muted_until,
    muted_until_state, muted_by, muted_reason, settled_state, settled_through)
SELECT workload_arn, workload_id, workload_name, account_id, region,
    control_type, state, reason, details, scanned_by, version, created_at, updated_at,
    evaluated_at, removed_at, lease_owner, lease_until, muted_at, muted_until,
    muted_until_state, muted_by, muted_reason, settled_state, settled_through
FROM controls;
DROP TABLE controls;
ALTER TABLE controls_0013 RENAME TO controls;
CREATE INDEX controls_workload_id ON controls (workload_id);
CREATE INDEX controls_state ON controls (state);
CREATE INDEX controls_scanned_by ON controls (scanned_by);
-- The status page's orders (0009), ending in the whole key so pages are total.
CREATE INDEX controls_live_default ON controls (account_id, region, workload_name, workload_arn, lens, question_id) WHERE removed_at IS NULL;
CREATE INDEX controls_live_region ON controls (region, account_id, workload_name, workload_arn, lens, question_id) WHERE removed_at IS NULL;
CREATE INDEX controls_live_name ON controls (workload_name, account_id, region, workload_arn, lens, question_id) WHERE removed_at IS NULL;
CREATE INDEX controls_live_state ON controls (state, account_id, region, workload_name, workload_arn, lens, question_id) WHERE removed_at IS NULL;
CREATE INDEX controls_live_updated ON controls (updated_at, account_id, region, workload_name, workload_arn, lens, question_id) WHERE removed_at IS NULL;
CREATE INDEX controls_live_evaluated ON controls (evaluated_at, account_id, region, workload_name, workload_arn, lens, question_id) WHERE removed_at IS NULL;

ALTER TABLE transitions ADD COLUMN lens TEXT NOT NULL DEFAULT 'wellarchitected';
ALTER TABLE transitions ADD COLUMN question_id TEXT NOT NULL DEFAULT 'prevent-interaction-failure';
ALTER TABLE mutes ADD COLUMN lens TEXT NOT NULL DEFAULT 'wellarchitected';
ALTER TABLE mutes ADD COLUMN question_id TEXT NOT NULL DEFAULT 'prevent-interaction-failure';

CREATE TABLE enforce_writes_0013 (
    workload_arn  TEXT NOT NULL,
    lens          TEXT NOT NULL DEFAULT 'wellarchitected',
    question_id   TEXT NOT NULL DEFAULT 'prevent-interaction-failure',
    written_at    TEXT NOT NULL,
    PRIMARY KEY (workload_arn, lens, question_id)
);
INSERT INTO enforce_writes_0013 (workload_arn, written_at)
SELECT workload_arn, written_at FROM enforce_writes;
DROP TABLE enforce_writes;
ALTER TABLE enforce_writes_0013 RENAME TO enforce_writes;

CREATE TABLE securityhub_findings_0013 (
    workload_arn     TEXT NOT NULL,
    lens             TEXT NOT NULL DEFAULT 'wellarchitected',
    question_id      TEXT NOT NULL DEFAULT 'prevent-interaction-failure',
    generation       BIGINT NOT NULL DEFAULT 1,
    sent_generation  BIGINT,
    due_at           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    claimed_by       TEXT,
    claimed_until    TEXT,
    sent_at          TEXT,
    PRIMARY KEY (workload_arn, lens, question_id)
);
INSERT INTO securityhub_findings_0013 (workload_arn, generation, sent_generation, due_at,
    attempts, last_error, claimed_by, claimed_until, sent_at)
SELECT workload_arn, generation, sent_generation, due_at,
    attempts, last_error, claimed_by, claimed_until, sent_at
FROM securityhub_findings;
DROP TABLE securityhub_findings;
ALTER TABLE securityhub_findings_0013 RENAME TO securityhub_findings;
CREATE INDEX securityhub_findings_due ON securityhub_findings (due_at);

CREATE TABLE exception_warnings_0013 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    workload_arn   TEXT NOT NULL,
    lens           TEXT NOT NULL DEFAULT 'wellarchitected',
    question_id    TEXT NOT NULL DEFAULT 'prevent-interaction-failure',
    setting        TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    claimed_by     TEXT,
    claimed_until  TEXT,
    published_at   TEXT,
    UNIQUE (workload_arn, lens, question_id, setting, expires_at)
);
INSERT INTO exception_warnings_0013 (id, workload_arn, setting, expires_at, payload,
    created_at, attempts, last_error, claimed_by, claimed_until, published_at)
SELECT id, workload_arn, setting, expires_at, payload,
    created_at, attempts, last_error, claimed_by, claimed_until, published_at
FROM exception_warnings;
DROP TABLE exception_warnings;
ALTER TABLE exception_warnings_0013 RENAME TO exception_warnings;
CREATE INDEX exception_warnings_pending ON exception_warnings (published_at, id);

-- A control's transitions in order (settle reads them per control).
DROP INDEX transitions_workload_arn_id;
CREATE INDEX transitions_control_id ON transitions (workload_arn, lens, question_id, id);
