-- 0001: every table the design names. Times are ISO-8601 UTC text ("2026-11-27T06:55:11.123456+00:00").

CREATE TABLE users (
    user_id       INTEGER PRIMARY KEY,            -- Telegram user id
    username      TEXT,
    display_name  TEXT NOT NULL DEFAULT '',
    phone         TEXT,
    is_contact    INTEGER NOT NULL DEFAULT 0,
    -- unknown: never decided; pending: announced to the owner; allowed; blocked
    access        TEXT NOT NULL DEFAULT 'unknown'
                  CHECK (access IN ('unknown', 'pending', 'allowed', 'blocked')),
    announced_at  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX users_username ON users (username COLLATE NOCASE);

CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY,
    assignee_id     INTEGER REFERENCES users (user_id),   -- NULL: the owner's own task
    counterpart_id  INTEGER REFERENCES users (user_id),   -- whom a conversation task talks to
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'in_progress', 'waiting', 'blocked', 'done',
                                      'cancelled')),
    skill           TEXT,
    context         TEXT NOT NULL DEFAULT '',
    next_step       TEXT,
    next_step_at    TEXT,
    session_id      TEXT,
    due_at          TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX tasks_assignee ON tasks (assignee_id, status);
CREATE INDEX tasks_counterpart ON tasks (counterpart_id, status);

-- One row per Claude session key ("owner", "external:<user id>", "task:<task id>").
CREATE TABLE sessions (
    key             TEXT PRIMARY KEY,
    role            TEXT NOT NULL,
    sdk_session_id  TEXT,
    cwd             TEXT NOT NULL,
    summary         TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    last_used_at    TEXT NOT NULL
);

CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    msg_id       INTEGER NOT NULL,
    sender_id    INTEGER NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    payload      TEXT NOT NULL DEFAULT '{}',        -- JSON: media, reply_to, sender names
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'processing', 'answered', 'ignored', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    received_at  TEXT NOT NULL,
    finished_at  TEXT,
    UNIQUE (chat_id, msg_id)
);
CREATE INDEX inbox_open ON inbox (state, chat_id, id);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    chat_id       INTEGER NOT NULL,
    inbox_id      INTEGER REFERENCES inbox (id),
    seq           INTEGER NOT NULL DEFAULT 0,       -- chunk number within one reply
    kind          TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'photo', 'document')),
    text          TEXT NOT NULL DEFAULT '',
    file_path     TEXT,
    reply_to      INTEGER,
    random_id     INTEGER NOT NULL,                 -- Telegram dedups sends by it
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT,
    sent_msg_id   INTEGER,
    error         TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT
);
CREATE UNIQUE INDEX outbox_reply_chunk ON outbox (inbox_id, seq) WHERE inbox_id IS NOT NULL;
CREATE INDEX outbox_open ON outbox (state, chat_id, id);

CREATE TABLE schedules (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('cron', 'interval', 'once')),
    spec           TEXT NOT NULL,                   -- cron expression, seconds, or ISO time
    timezone       TEXT NOT NULL,
    prompt         TEXT NOT NULL,
    task_id        INTEGER REFERENCES tasks (id) ON DELETE CASCADE,
    enabled        INTEGER NOT NULL DEFAULT 1,
    misfire        TEXT NOT NULL DEFAULT 'run_late' CHECK (misfire IN ('run_late', 'skip')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE job_runs (
    id             INTEGER PRIMARY KEY,
    schedule_id    INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    scheduled_for  TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'running'
                   CHECK (state IN ('running', 'done', 'failed', 'skipped')),
    note           TEXT,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    UNIQUE (schedule_id, scheduled_for)
);

CREATE TABLE trigger_subscriptions (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,                    -- e.g. tg_channel
    target        TEXT NOT NULL,                    -- e.g. the channel's marked id
    title         TEXT NOT NULL DEFAULT '',
    keywords      TEXT NOT NULL DEFAULT '[]',       -- JSON list
    instructions  TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    UNIQUE (source, target)
);

CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,             -- short code the owner answers with
    session_key   TEXT NOT NULL,
    requested_by  INTEGER,                          -- whose text caused the action
    tool          TEXT NOT NULL,
    action        TEXT NOT NULL,                    -- what exactly would run, for the owner
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'approved', 'denied', 'expired')),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    decided_at    TEXT
);

CREATE TABLE usage (
    id                  INTEGER PRIMARY KEY,
    session_key         TEXT NOT NULL,
    role                TEXT NOT NULL,
    person_id           INTEGER,
    model               TEXT,
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens   INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_usd            REAL NOT NULL DEFAULT 0,
    duration_ms         INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL
);
CREATE INDEX usage_time ON usage (created_at);

CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    session_key  TEXT,
    role         TEXT,
    person_id    INTEGER,
    event        TEXT NOT NULL,                     -- tool_call, role_violation, access, …
    tool         TEXT,
    detail       TEXT NOT NULL DEFAULT '{}',        -- JSON, redacted before write
    decision     TEXT,                              -- allowed / denied / approved …
    approval_id  INTEGER REFERENCES approvals (id)
);
CREATE INDEX audit_time ON audit (at);
