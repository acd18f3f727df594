-- A control per (workload, lens, question) (issue 23): `lens` is the lens as
-- configured (the alias `wellarchitected` for AWS lenses, the lens ARN for a
-- custom lens), `question_id` the Tool's QuestionId. Every row written before
-- this migration is REL 04's control of the `wellarchitected` lens, which the
-- defaults say. Every table that names one control carries the pair and keys by
-- it. `lens_status` is the lens review's LensStatus (CURRENT, NOT_CURRENT,
-- DEPRECATED, DELETED, UNSHARED) as last read; NULL when not read yet.
ALTER TABLE controls ADD COLUMN lens TEXT NOT NULL DEFAULT 'wellarchitected';
ALTER TABLE controls ADD COLUMN question_id TEXT NOT NULL DEFAULT 'prevent-interaction-failure';
ALTER TABLE controls ADD COLUMN lens_status TEXT;
ALTER TABLE controls DROP CONSTRAINT controls_pkey;
ALTER TABLE controls ADD PRIMARY KEY (workload_arn, lens, question_id);
-- The status page's orders (0009), ending in the whole key so pages are total.
DROP INDEX controls_live_default;
DROP INDEX controls_live_region;
DROP INDEX controls_live_name;
DROP INDEX controls_live_state;
DROP INDEX controls_live_updated;
DROP INDEX controls_live_evaluated;
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

ALTER TABLE enforce_writes ADD COLUMN lens TEXT NOT NULL DEFAULT 'wellarchitected';
ALTER TABLE enforce_writes ADD COLUMN question_id TEXT NOT NULL DEFAULT 'prevent-interaction-failure';
ALTER TABLE enforce_writes DROP CONSTRAINT enforce_writes_pkey;
ALTER TABLE enforce_writes ADD PRIMARY KEY (workload_arn, lens, question_id);

ALTER TABLE securityhub_findings ADD COLUMN lens TEXT NOT NULL DEFAULT 'wellarchitected';
ALTER TABLE securityhub_findings ADD COLUMN question_id TEXT NOT NULL DEFAULT 'prevent-interaction-failure';
ALTER TABLE securityhub_findings DROP CONSTRAINT securityhub_findings_pkey;
ALTER TABLE securityhub_findings ADD PRIMARY KEY (workload_arn, lens, question_id);

ALTER TABLE exception_warnings ADD COLUMN lens TEXT NOT NULL DEFAULT 'wellarchitected';
ALTER TABLE exception_warnings ADD COLUMN question_id TEXT NOT NULL DEFAULT 'prevent-interaction-failure';
ALTER TABLE exception_warnings DROP CONSTRAINT exception_warnings_workload_arn_setting_expires_at_key;
ALTER TABLE exception_warnings ADD UNIQUE (workload_arn, lens, question_id, setting, expires_at);

-- A control's transitions in order (settle reads them per control).
DROP INDEX transitions_workload_arn_id;
CREATE INDEX transitions_control_id ON transitions (workload_arn, lens, question_id, id);
