-- 0002: every Telegram message id Jobs sent, so that in the owner's own account Jobs can tell
-- its replies in Saved Messages from the owner's notes even after a restart replays updates.
CREATE TABLE sent_messages (
    chat_id    INTEGER NOT NULL,
    msg_id     INTEGER NOT NULL,
    outbox_id  INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (chat_id, msg_id)
);
CREATE INDEX sent_messages_time ON sent_messages (chat_id, sent_at);
