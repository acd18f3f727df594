-- The status page and `controls` list current controls (removed_at IS NULL) in
-- pages, sorted by a column and then by account, region, name and ARN, all in
-- the sort's direction. Without an index every page sorted the whole table,
-- details and all: page 1,999 of `sort:-updated_at` took 6.8 s at 100,000
-- controls. These partial indexes hold only current controls, in the orders of
-- the status page's sortable columns (and `updated_at`), so a page walks an
-- index, forwards or backwards, instead of sorting.
CREATE INDEX controls_live_default ON controls (account_id, region, workload_name, workload_arn) WHERE removed_at IS NULL;
CREATE INDEX controls_live_region ON controls (region, account_id, workload_name, workload_arn) WHERE removed_at IS NULL;
CREATE INDEX controls_live_name ON controls (workload_name, account_id, region, workload_arn) WHERE removed_at IS NULL;
CREATE INDEX controls_live_state ON controls (state, account_id, region, workload_name, workload_arn) WHERE removed_at IS NULL;
CREATE INDEX controls_live_updated ON controls (updated_at, account_id, region, workload_name, workload_arn) WHERE removed_at IS NULL;
CREATE INDEX controls_live_evaluated ON controls (evaluated_at, account_id, region, workload_name, workload_arn) WHERE removed_at IS NULL;
