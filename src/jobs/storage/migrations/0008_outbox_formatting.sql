-- 0008: a notice keeps its own formatting: entities (JSON, UTF-16 offsets) built by Jobs, or
-- NULL for Markdown rendered when sent (every older row); link previews only when allowed.
ALTER TABLE outbox ADD COLUMN entities TEXT;
ALTER TABLE outbox ADD COLUMN link_preview INTEGER NOT NULL DEFAULT 0;
