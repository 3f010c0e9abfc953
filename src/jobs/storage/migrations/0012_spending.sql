-- 0012: what Jobs spends, and the owner in control of it (issue 17).

-- Who each turn's spend counts against: owner, person:<id>, task:<id>, or trigger:<what>
-- (schedule:<id>, heartbeat, channel:<subscription id>) with the trigger's name.
ALTER TABLE usage ADD COLUMN payer TEXT NOT NULL DEFAULT 'owner';
ALTER TABLE usage ADD COLUMN payer_label TEXT NOT NULL DEFAULT '';
UPDATE usage SET payer = CASE
    WHEN session_key LIKE 'external:%' THEN 'person:' || substr(session_key, 10)
    WHEN session_key LIKE 'task:%' THEN session_key
    WHEN session_key LIKE 'trigger:%' THEN 'trigger:channel'
    ELSE 'owner' END;
CREATE INDEX usage_payer ON usage (payer, created_at);

-- Claude Code's total_cost_usd counts the whole session (across resumes), so earlier rows
-- held running totals: each becomes the difference to the one before it of its session.
WITH costs AS (
    SELECT id, cost_usd,
           cost_usd - LAG(cost_usd, 1, 0) OVER (PARTITION BY session_key ORDER BY id) AS step
    FROM usage
)
UPDATE usage SET cost_usd = (
    SELECT CASE WHEN costs.step >= 0 THEN costs.step ELSE costs.cost_usd END
    FROM costs WHERE costs.id = usage.id
);

-- The session's total as Claude Code last reported it: the next turn's cost is the difference.
ALTER TABLE sessions ADD COLUMN cost_total REAL NOT NULL DEFAULT 0;

-- The owner's budgets by scope: people, person:<id>, tasks, task:<id>, triggers, owner, month.
-- amount NULL: no limit (turned off); no row: the setting's default.
CREATE TABLE budgets (
    scope       TEXT PRIMARY KEY,
    amount      REAL,
    unit        TEXT NOT NULL,                      -- usd or tokens
    updated_at  TEXT NOT NULL
);

-- Who was told that a budget was reached: once per scope, period (and limit) and audience.
CREATE TABLE spend_notices (
    scope     TEXT NOT NULL,
    period    TEXT NOT NULL,
    audience  TEXT NOT NULL,                        -- owner or person
    told_at   TEXT NOT NULL,
    PRIMARY KEY (scope, period, audience)
);

-- The owner's choice of model (and of a fallback when it is overloaded) by role:
-- owner, people, tasks, triggers. No row: the setting's default.
CREATE TABLE model_choices (
    role        TEXT PRIMARY KEY,
    model       TEXT,
    fallback    TEXT,
    updated_at  TEXT NOT NULL
);

-- /pause: one row while everything but the owner's own messages waits for /resume.
CREATE TABLE pause (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    since  TEXT NOT NULL
);

-- Messages held by /pause: not claimed until /resume releases them.
ALTER TABLE inbox ADD COLUMN held TEXT;

-- Trigger events that came while paused, run after /resume. `slot` coalesces: a schedule's
-- newest firing stands for the ones before it.
CREATE TABLE held_events (
    id       INTEGER PRIMARY KEY,
    slot     TEXT NOT NULL UNIQUE,
    event    TEXT NOT NULL,                         -- the TriggerEvent as JSON
    held_at  TEXT NOT NULL
);
