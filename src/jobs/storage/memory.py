"""MemoryRepo: the memory index's tables: indexed files, chunks (FTS5), cached embeddings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from jobs.storage.database import Database

_INSERT_BATCH: Final = 400
"""Rows per multi-row INSERT: 7 parameters each stays far below SQLite's variable limit."""


@dataclass(frozen=True, slots=True)
class ChunkSpec:
    """A chunk to store: lines `start_line`..`end_line` (1-based, inclusive) of its file."""

    start_line: int
    end_line: int
    heading: str
    text: str
    hash: str


@dataclass(frozen=True, slots=True)
class StoredChunk:
    id: int
    path: str
    start_line: int
    end_line: int
    heading: str
    text: str
    hash: str


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """What a file looked like when it was last indexed (a changed stat means: look again)."""

    path: str
    hash: str
    mtime_ns: int
    size: int


@dataclass(frozen=True, slots=True)
class LineMove:
    """An unchanged chunk whose lines moved (text inserted above it): no re-embedding."""

    chunk_id: int
    start_line: int
    end_line: int


def _chunk(row: sqlite3.Row) -> StoredChunk:
    return StoredChunk(
        id=row["id"],
        path=row["path"],
        start_line=row["start_line"],
        end_line=row["end_line"],
        heading=row["heading"],
        text=row["text"],
        hash=row["hash"],
    )


# BM25 over at most `cap` matches, the newest first: one ubiquitous term would otherwise make
# SQLite score every row (bm25() costs ~0.6 µs a row). Callers drop common terms first.
_KEYWORD = """
SELECT id, score FROM (
    SELECT rowid AS id, bm25(memory_fts, 1.0, 0.5) AS score FROM memory_fts
    WHERE memory_fts MATCH :query ORDER BY rowid DESC LIMIT :cap
) ORDER BY score LIMIT :limit
"""
_COUNT_UP_TO = (
    "SELECT count(*) FROM (SELECT rowid FROM memory_fts WHERE memory_fts MATCH ? LIMIT ?)"
)
_VECTOR_PAGE = """
SELECT c.id, v.vector FROM memory_chunks AS c
JOIN memory_vectors AS v ON v.hash = c.hash AND v.model = :model
WHERE c.id > :after ORDER BY c.id LIMIT :limit
"""
_UNEMBEDDED = """
SELECT c.* FROM memory_chunks AS c
WHERE NOT EXISTS (SELECT 1 FROM memory_vectors AS v WHERE v.hash = c.hash AND v.model = ?)
ORDER BY c.id LIMIT ?
"""
_PRUNE = """
DELETE FROM memory_vectors
WHERE NOT EXISTS (SELECT 1 FROM memory_chunks AS c WHERE c.hash = memory_vectors.hash)
"""
_INSERT_CHUNKS = "INSERT INTO memory_chunks (id, path, start_line, end_line, heading, text, hash)"
_INSERT_VECTORS = "INSERT OR REPLACE INTO memory_vectors (hash, model, dim, vector)"
_UPSERT_FILE = """
INSERT INTO memory_files (path, hash, mtime_ns, size, indexed_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (path) DO UPDATE SET hash = excluded.hash, mtime_ns = excluded.mtime_ns,
    size = excluded.size, indexed_at = excluded.indexed_at
"""


class MemoryRepo:
    """Chunk rows and their FTS5 index (kept in step by triggers), and the embedding cache."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- files and chunks --------------------------------------------------------------------

    async def files(self) -> dict[str, IndexedFile]:
        rows = await self._db.fetch_all("SELECT path, hash, mtime_ns, size FROM memory_files")
        return {
            row["path"]: IndexedFile(row["path"], row["hash"], row["mtime_ns"], row["size"])
            for row in rows
        }

    async def chunks_of(self, path: str, /) -> list[StoredChunk]:
        rows = await self._db.fetch_all(
            "SELECT * FROM memory_chunks WHERE path = ? ORDER BY start_line, id", (path,)
        )
        return [_chunk(row) for row in rows]

    async def chunks(self, ids: Sequence[int], /) -> dict[int, StoredChunk]:
        found: dict[int, StoredChunk] = {}
        for start in range(0, len(ids), _INSERT_BATCH):
            part = list(ids[start : start + _INSERT_BATCH])
            marks = ",".join("?" * len(part))
            sql = f"SELECT * FROM memory_chunks WHERE id IN ({marks})"  # noqa: S608 - only ?s
            found.update((row["id"], _chunk(row)) for row in await self._db.fetch_all(sql, part))
        return found

    async def count(self) -> int:
        row = await self._db.fetch_one("SELECT count(*) AS n FROM memory_chunks")
        return 0 if row is None else int(row["n"])

    async def apply_file(
        self,
        file: IndexedFile,
        /,
        *,
        remove: Sequence[int] = (),
        move: Sequence[LineMove] = (),
        add: Sequence[ChunkSpec] = (),
    ) -> list[StoredChunk]:
        """Bring one file's chunks up to date in one transaction; returns the added chunks."""
        async with self._db.transaction():
            await self._delete(remove)
            for moved in move:
                await self._db.execute(
                    "UPDATE memory_chunks SET start_line = ?, end_line = ? WHERE id = ?",
                    (moved.start_line, moved.end_line, moved.chunk_id),
                )
            added = await self._insert(file.path, add)
            await self._db.execute(
                _UPSERT_FILE, (file.path, file.hash, file.mtime_ns, file.size, self._db.now())
            )
        return added

    async def forget_file(self, path: str, /) -> list[int]:
        """Drop a file that no longer exists; returns the ids of its chunks."""
        async with self._db.transaction():
            rows = await self._db.fetch_all("SELECT id FROM memory_chunks WHERE path = ?", (path,))
            ids = [int(row["id"]) for row in rows]
            await self._delete(ids)
            await self._db.execute("DELETE FROM memory_files WHERE path = ?", (path,))
        return ids

    async def _delete(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), _INSERT_BATCH):
            part = list(ids[start : start + _INSERT_BATCH])
            marks = ",".join("?" * len(part))
            sql = f"DELETE FROM memory_chunks WHERE id IN ({marks})"  # noqa: S608 - only ?s
            await self._db.execute(sql, part)

    async def _insert(self, path: str, specs: Sequence[ChunkSpec]) -> list[StoredChunk]:
        """Insert with explicit ids: inside the transaction nobody else writes, and a
        multi-row INSERT is ~20x faster than one statement (one thread hop) per chunk."""
        if not specs:
            return []
        row = await self._db.fetch_one("SELECT COALESCE(MAX(id), 0) AS top FROM memory_chunks")
        next_id = (0 if row is None else int(row["top"])) + 1
        added = [
            StoredChunk(next_id + i, path, s.start_line, s.end_line, s.heading, s.text, s.hash)
            for i, s in enumerate(specs)
        ]
        for start in range(0, len(added), _INSERT_BATCH):
            part = added[start : start + _INSERT_BATCH]
            values = ",".join("(?, ?, ?, ?, ?, ?, ?)" for _ in part)
            params = [v for c in part for v in _columns(c)]
            sql = f"{_INSERT_CHUNKS} VALUES {values}"
            await self._db.execute(sql, params)
        return added

    # -- keyword search ----------------------------------------------------------------------

    async def count_matches_each(self, queries: Sequence[str], /, *, up_to: int) -> list[int]:
        """For each FTS5 query, how many chunks match it, counting no further than `up_to`
        (one statement for all: the counts decide which terms are worth scoring)."""
        if not queries:
            return []
        sql = " UNION ALL ".join(
            f"SELECT {i} AS i, ({_COUNT_UP_TO}) AS n" for i in range(len(queries))
        )
        params = [v for query in queries for v in (query, up_to)]
        rows = await self._db.fetch_all(sql, params)
        counts = {int(row["i"]): int(row["n"]) for row in rows}
        return [counts.get(i, 0) for i in range(len(queries))]

    async def keyword_search(
        self, query: str, /, *, limit: int, cap: int
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score; lower is better) for an FTS5 `query`, best first."""
        rows = await self._db.fetch_all(_KEYWORD, {"query": query, "cap": cap, "limit": limit})
        return [(int(row["id"]), float(row["score"])) for row in rows]

    # -- embeddings --------------------------------------------------------------------------

    async def vectors(self, model: str, hashes: Iterable[str], /) -> dict[str, bytes]:
        """Cached vectors of `model` for these content hashes (missing ones are absent)."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _INSERT_BATCH):
            part = wanted[start : start + _INSERT_BATCH]
            marks = ",".join("?" * len(part))
            sql = (
                "SELECT hash, vector FROM memory_vectors "  # noqa: S608 - only ?s
                f"WHERE model = ? AND hash IN ({marks})"
            )
            rows = await self._db.fetch_all(sql, [model, *part])
            found.update((row["hash"], bytes(row["vector"])) for row in rows)
        return found

    async def save_vectors(
        self, model: str, dim: int, items: Sequence[tuple[str, bytes]], /
    ) -> None:
        async with self._db.transaction():
            for start in range(0, len(items), _INSERT_BATCH):
                part = items[start : start + _INSERT_BATCH]
                values = ",".join("(?, ?, ?, ?)" for _ in part)
                params = [v for h, blob in part for v in (h, model, dim, blob)]
                sql = f"{_INSERT_VECTORS} VALUES {values}"
                await self._db.execute(sql, params)

    async def vector_page(
        self, model: str, /, *, after_id: int, limit: int
    ) -> list[tuple[int, bytes]]:
        """(chunk id, vector) for chunks with a cached vector, by id, after `after_id`."""
        rows = await self._db.fetch_all(
            _VECTOR_PAGE, {"model": model, "after": after_id, "limit": limit}
        )
        return [(int(row["id"]), bytes(row["vector"])) for row in rows]

    async def unembedded(self, model: str, /, *, limit: int) -> list[StoredChunk]:
        """Chunks without a vector of `model` (the provider was down, or the model changed)."""
        return [_chunk(row) for row in await self._db.fetch_all(_UNEMBEDDED, (model, limit))]

    async def prune_vectors(self) -> int:
        """Forget cached vectors no chunk has any more."""
        return (await self._db.execute(_PRUNE)).rowcount


def _columns(chunk: StoredChunk) -> tuple[object, ...]:
    return (
        chunk.id,
        chunk.path,
        chunk.start_line,
        chunk.end_line,
        chunk.heading,
        chunk.text,
        chunk.hash,
    )
