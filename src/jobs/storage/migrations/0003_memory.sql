-- 0003: the memory index. Files under WORKSPACE_DIR (MEMORY.md, memory/**.md) are cut into
-- chunks; FTS5 indexes their text (BM25), and embeddings are cached by content hash and model,
-- so an unchanged chunk is never embedded twice, wherever it moves.
CREATE TABLE memory_files (
    path       TEXT PRIMARY KEY,            -- relative to WORKSPACE_DIR, '/'-separated
    hash       TEXT NOT NULL,               -- of the whole file when it was indexed
    mtime_ns   INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    indexed_at TEXT NOT NULL
);

CREATE TABLE memory_chunks (
    id         INTEGER PRIMARY KEY,
    path       TEXT NOT NULL,
    start_line INTEGER NOT NULL,            -- 1-based, inclusive
    end_line   INTEGER NOT NULL,
    heading    TEXT NOT NULL DEFAULT '',    -- the section the chunk sits in
    text       TEXT NOT NULL,
    hash       TEXT NOT NULL                -- of heading + text: the embedding cache key
);
CREATE INDEX memory_chunks_path ON memory_chunks (path, start_line);
CREATE INDEX memory_chunks_hash ON memory_chunks (hash);

CREATE VIRTUAL TABLE memory_fts USING fts5 (
    text, heading,
    content = 'memory_chunks', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memory_chunks_ai AFTER INSERT ON memory_chunks BEGIN
    INSERT INTO memory_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER memory_chunks_ad AFTER DELETE ON memory_chunks BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, heading)
    VALUES ('delete', old.id, old.text, old.heading);
END;
CREATE TRIGGER memory_chunks_au AFTER UPDATE OF text, heading ON memory_chunks BEGIN
    INSERT INTO memory_fts (memory_fts, rowid, text, heading)
    VALUES ('delete', old.id, old.text, old.heading);
    INSERT INTO memory_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;

CREATE TABLE memory_vectors (
    hash       TEXT NOT NULL,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,               -- float32, little-endian, unit length
    PRIMARY KEY (hash, model)
) WITHOUT ROWID;
