-- 0014: group chats the owner enabled, one by one (issue 18). In an account of Jobs' own,
-- Jobs answers there when mentioned or replied to; in the owner's own account it never
-- speaks in groups (enabling one watches it like a channel instead).
CREATE TABLE groups (
    chat_id     INTEGER PRIMARY KEY,   -- the marked id: -id for a basic group, -100… a supergroup
    title       TEXT NOT NULL,
    enabled_at  TEXT NOT NULL
);
