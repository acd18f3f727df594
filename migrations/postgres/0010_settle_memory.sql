-- notify.settle's memory per control, so a decision needs no look-back: the
-- state last announced (or held while muted) and the transition id the settle
-- rule has been applied through. Written in the transaction that decides an
-- outbox row, only if `settled_through` is still what the decider read, so two
-- publishers deciding the same row cannot record conflicting decisions.
-- NULL: nothing decided since this migration (the first decision folds the
-- control's earlier transitions once).
ALTER TABLE controls ADD COLUMN settled_state TEXT;
ALTER TABLE controls ADD COLUMN settled_through BIGINT;
CREATE INDEX transitions_workload_arn_id ON transitions (workload_arn, id);
