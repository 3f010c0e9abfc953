-- 0004: a channel subscription remembers the newest post already handed to the owner session,
-- so posts Telegram replays after a restart (catch-up) are not summarised twice. Message ids
-- only grow within a chat (channels and megagroups count per chat, basic groups per account).
ALTER TABLE trigger_subscriptions ADD COLUMN last_msg_id INTEGER NOT NULL DEFAULT 0;
