-- 0007: taint belongs to sessions and data, not to turns.
-- A session that took in text the owner did not type stays tainted until the owner clears it
-- (/clear): `tainted_by` says why (JSON: caused_by, person_id, since); NULL = clean.
ALTER TABLE sessions ADD COLUMN tainted_by TEXT;

-- Files a tainted session wrote: whoever reads one later takes in outside text too.
CREATE TABLE tainted_files (
    path         TEXT PRIMARY KEY,            -- resolved absolute path
    session_key  TEXT NOT NULL,
    caused_by    TEXT NOT NULL,
    written_at   TEXT NOT NULL
);

-- Tasks: what the owner granted beyond the task's own card, folder, counterpart and skill
-- (JSON list of grant names); who last set the wake-up time ('owner' or 'task'); the
-- assignee's own next step (their words, kept apart from the session's plan); and whether
-- someone other than the owner wrote into the card (JSON: caused_by, person_id, since).
ALTER TABLE tasks ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN next_step_by TEXT NOT NULL DEFAULT 'owner'
    CHECK (next_step_by IN ('owner', 'task'));
ALTER TABLE tasks ADD COLUMN assignee_next_step TEXT;
ALTER TABLE tasks ADD COLUMN outside_text_by TEXT;
