-- 0006: a message the model could not answer (it was down) waits in the inbox, still pending:
-- not claimed before not_before; deferred_at is when it first had to wait (given up after a day).
ALTER TABLE inbox ADD COLUMN not_before TEXT;
ALTER TABLE inbox ADD COLUMN deferred_at TEXT;
CREATE INDEX inbox_deferred ON inbox (state, not_before) WHERE not_before IS NOT NULL;
