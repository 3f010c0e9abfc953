-- 0013: what only a user account can do (issue 18) — the owner taking a conversation over, and
-- answers kept as Telegram drafts for the owner to send.

-- A conversation the owner took over (they wrote to the person themselves, or said so): Jobs
-- does not answer that person, and tasks talking with them wait, until `until` (NULL: until
-- the owner says so, /resume). A row whose `until` has passed is over; the next message the
-- owner writes starts a new one.
CREATE TABLE handovers (
    person_id   INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    until       TEXT,
    updated_at  TEXT NOT NULL
);

-- Whose answers Jobs keeps as a draft in their chat instead of sending: a person (their id),
-- or everyone not in the owner's contacts without a rule of their own (person_id 0).
-- drafts 0 on a person says "send" even when strangers get drafts.
CREATE TABLE reply_modes (
    person_id   INTEGER PRIMARY KEY,
    drafts      INTEGER NOT NULL,
    set_at      TEXT NOT NULL
);

-- An outbox row that is a draft: saved in its chat (messages.saveDraft), never sent.
ALTER TABLE outbox ADD COLUMN as_draft INTEGER NOT NULL DEFAULT 0;
