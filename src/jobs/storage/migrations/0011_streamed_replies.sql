-- 0011: replies that stream into a message of their own, and whose words a sent message is.

-- Whether a message is the owner's untainted session's own words. When the owner replies to
-- an older message, its text is shown to the session; Jobs' messages that quote or were
-- written after reading someone else's text (and every older row) count as outside text.
ALTER TABLE outbox ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;

-- Where no live draft shows (Saved Messages), a reply is streamed into a message of its own:
-- the finished reply is an edit of that message (its id here), not a second message.
ALTER TABLE outbox ADD COLUMN edit_of INTEGER;

-- That message, per answered inbox row: written before it is sent (its first text tells it
-- apart from the owner's notes if Jobs stops before its id is stored), so a restarted turn
-- edits it too instead of leaving a half reply behind.
CREATE TABLE previews (
    inbox_id    INTEGER PRIMARY KEY REFERENCES inbox (id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL,
    text        TEXT NOT NULL,
    msg_id      INTEGER,
    created_at  TEXT NOT NULL
);

-- A turn the model never answered (the API failed first) is cut from the session's history:
-- the next start resumes at this transcript entry (a fork), so the message, sent again, is
-- in the conversation once. NULL: resume where the transcript ends.
ALTER TABLE sessions ADD COLUMN resume_at TEXT;
