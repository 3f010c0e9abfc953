-- 0011: whether a sent message is the owner's untainted session's own words. When the owner
-- replies to an older message, its text is shown to the session; Jobs' messages that quote
-- or were written after reading someone else's text (and every older row) count as outside.
ALTER TABLE outbox ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;
