-- The request rate each account-region's adaptive limiter learned from the Tool's
-- throttling (aws.max_requests_per_second = "auto"), so restarts and replicas
-- resume from it instead of learning again. `account_id` is "ambient" for the
-- ambient credentials' scopes.
CREATE TABLE learned_rates (
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    requests_per_second REAL NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, region)
);
