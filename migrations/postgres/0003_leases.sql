-- Work sharing between replicas on one database.
-- A named lease (e.g. "sweep:<scope>") lets one replica sweep a scope per interval.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

-- A claim on one control while a replica evaluates it; released when the result
-- is recorded, and expiring so a dead replica's claims are taken over.
ALTER TABLE controls ADD COLUMN lease_owner TEXT;
ALTER TABLE controls ADD COLUMN lease_until TEXT;

-- The last complete sweep of each scope, whichever replica ran it: readiness and
-- operators read it.
CREATE TABLE sweeps (
    scope         TEXT PRIMARY KEY,
    replica       TEXT NOT NULL,
    completed_at  TEXT NOT NULL,
    listed        BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL
);
