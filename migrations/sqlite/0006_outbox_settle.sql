-- notify.settle: a notification waits until its control has held the new state
-- for the settle time, then is decided once: announced (its payload's from_state
-- rewritten to the state last announced) or collapsed (a flip undone or
-- overtaken within the window; marked published without being sent).
ALTER TABLE outbox ADD COLUMN settled_at TEXT;
ALTER TABLE outbox ADD COLUMN collapsed BIGINT NOT NULL DEFAULT 0;
