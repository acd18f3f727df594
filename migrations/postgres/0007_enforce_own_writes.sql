-- rel04d's own answer writes, so enforce.defer_after_human_change can tell them
-- from someone else's: the last write per workload, recorded just before the
-- UpdateAnswer call and again once it returned.
CREATE TABLE enforce_writes (
    workload_arn  TEXT PRIMARY KEY,
    written_at    TEXT NOT NULL
);
