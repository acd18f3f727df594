-- A pushed event that failed (or was deferred) waits until this time before it
-- is tried again, so failures back off instead of burning every attempt at once.
ALTER TABLE inbox ADD COLUMN next_attempt_at TEXT;
