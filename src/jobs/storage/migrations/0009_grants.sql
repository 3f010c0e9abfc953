-- 0009: the owner's scoped grants ("approve for this task / this session"): the same call
-- (tool and input, or for Bash the exact command: its fingerprint) may run again in the same
-- session without asking, until revoked (/revoke, or /clear of that session).
CREATE TABLE grants (
    id           INTEGER PRIMARY KEY,
    session_key  TEXT NOT NULL,
    tool         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    action       TEXT NOT NULL,
    caused_by    TEXT NOT NULL DEFAULT '',
    approval_id  INTEGER REFERENCES approvals (id),
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    uses         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX grants_live ON grants (session_key, fingerprint) WHERE revoked_at IS NULL;
