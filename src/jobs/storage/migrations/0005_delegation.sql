-- 0005: delegation. An approval remembers the message that asked the owner, so that a reply
-- ("yes" / "no") to that message finds it, and who caused it, in the words the owner read.
ALTER TABLE approvals ADD COLUMN outbox_id INTEGER REFERENCES outbox (id);
ALTER TABLE approvals ADD COLUMN caused_by TEXT NOT NULL DEFAULT '';
CREATE INDEX approvals_outbox ON approvals (outbox_id);

-- The heartbeat looks for active tasks whose next step is due.
CREATE INDEX tasks_next_step ON tasks (status, next_step_at);
