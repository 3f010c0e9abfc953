-- 0017: the owner's Telegram as memory (issue 18). The chats the owner opted in, one by one
-- (never by default), and a full-text index of their messages kept in step with Telegram:
-- new messages and edits as they come, deletions as Telegram reports them (catch-up included).
CREATE TABLE history_chats (
    chat_id     INTEGER PRIMARY KEY,   -- the marked id: a user >0, a basic group -id, -100… a supergroup
    title       TEXT NOT NULL,
    link        TEXT NOT NULL,         -- a message's link is link || msg_id ('' when it has none)
    opted_in_at TEXT NOT NULL,
    synced_to   INTEGER NOT NULL DEFAULT 0,  -- every message up to this id was read from Telegram
    synced_at   TEXT
);

-- No foreign key: a chat opted out leaves the index at once (no new rows), its messages are
-- deleted in batches after (a million rows in one statement would hold the database).
CREATE TABLE history_messages (
    id       INTEGER PRIMARY KEY,
    chat_id  INTEGER NOT NULL,
    msg_id   INTEGER NOT NULL,
    sent_at  INTEGER NOT NULL,        -- Unix seconds: a million rows, 8 bytes each rather than 32
    sender   TEXT NOT NULL,
    outgoing INTEGER NOT NULL,
    text     TEXT NOT NULL,
    UNIQUE (chat_id, msg_id)
);
-- Telegram reports a deletion in a private chat or a basic group by message ids alone.
CREATE INDEX history_messages_msg ON history_messages (msg_id);

-- The chat is indexed too (as its id's digits): a search in one chat intersects its postings
-- instead of walking every match of a common word to find the chat's few.
CREATE VIRTUAL TABLE history_fts USING fts5 (
    text, chat_id,
    content = 'history_messages', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER history_messages_ai AFTER INSERT ON history_messages BEGIN
    INSERT INTO history_fts (rowid, text, chat_id) VALUES (new.id, new.text, new.chat_id);
END;
CREATE TRIGGER history_messages_ad AFTER DELETE ON history_messages BEGIN
    INSERT INTO history_fts (history_fts, rowid, text, chat_id)
    VALUES ('delete', old.id, old.text, old.chat_id);
END;
CREATE TRIGGER history_messages_au AFTER UPDATE OF text ON history_messages BEGIN
    INSERT INTO history_fts (history_fts, rowid, text, chat_id)
    VALUES ('delete', old.id, old.text, old.chat_id);
    INSERT INTO history_fts (rowid, text, chat_id) VALUES (new.id, new.text, new.chat_id);
END;
