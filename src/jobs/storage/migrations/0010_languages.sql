-- 0010: the language Jobs speaks with each person: detected from what they write, or set by
-- the owner (which detection never overrides). A code only (ISO 639, 2-3 lower-case letters).
CREATE TABLE languages (
    user_id     INTEGER PRIMARY KEY,
    code        TEXT NOT NULL CHECK (length(code) BETWEEN 2 AND 3 AND code NOT GLOB '*[^a-z]*'),
    set_by      TEXT NOT NULL CHECK (set_by IN ('detected', 'owner')),
    updated_at  TEXT NOT NULL
);
