"""MemoryIndex: the memory files → chunks in SQLite (FTS5) and vectors in RAM, incrementally.

A file is looked at again only when its size or mtime changed, re-chunked only when its hash
changed, and only chunks with new content are embedded (vectors are cached by content hash,
so a chunk that merely moved keeps its vector). Without an embedder, or while the provider is
down, chunks are indexed for keywords alone; `backfill` embeds them later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from jobs.memory.chunking import Chunk, chunk_markdown
from jobs.memory.embeddings import Embedder, EmbeddingsUnavailable
from jobs.memory.files import MemoryFiles
from jobs.storage.memory import ChunkSpec, IndexedFile, LineMove, MemoryRepo, StoredChunk

# jobs.memory.vectors (numpy) is imported where vectors are used: only with an embedder.
if TYPE_CHECKING:
    from jobs.memory.embeddings import Matrix
    from jobs.memory.vectors import VectorMatrix

logger = logging.getLogger(__name__)

LOAD_PAGE: Final = 5000
BACKFILL_BATCH: Final = 256


@dataclass(slots=True)
class SyncReport:
    """What one sync did (for logs, tests and the benchmark)."""

    files: int = 0
    added: int = 0
    removed: int = 0
    moved: int = 0
    embedded: int = 0
    forgotten: int = 0
    embed_errors: list[str] = field(default_factory=list)

    def merge(self, other: SyncReport, /) -> None:
        self.files += other.files
        self.added += other.added
        self.removed += other.removed
        self.moved += other.moved
        self.embedded += other.embedded
        self.forgotten += other.forgotten
        self.embed_errors += other.embed_errors


@dataclass(frozen=True, slots=True)
class Plan:
    """How to turn a file's stored chunks into its new ones."""

    remove: list[int]
    move: list[LineMove]
    add: list[Chunk]


def plan(old: Sequence[StoredChunk], new: Sequence[Chunk], /) -> Plan:
    """Keep chunks whose content is unchanged (moving their lines), add the rest (pure)."""
    unused: dict[str, list[StoredChunk]] = {}
    for stored in old:
        unused.setdefault(stored.hash, []).append(stored)
    move: list[LineMove] = []
    add: list[Chunk] = []
    for chunk in new:
        same = unused.get(chunk.hash)
        if not same:
            add.append(chunk)
            continue
        kept = same.pop(0)
        if (kept.start_line, kept.end_line) != (chunk.start_line, chunk.end_line):
            move.append(LineMove(kept.id, chunk.start_line, chunk.end_line))
    remove = [stored.id for rest in unused.values() for stored in rest]
    return Plan(remove=remove, move=move, add=add)


class MemoryIndex:
    """Keeps MemoryRepo and the VectorMatrix in step with the files; one sync at a time."""

    def __init__(
        self, *, repo: MemoryRepo, files: MemoryFiles, embedder: Embedder | None = None
    ) -> None:
        self._repo = repo
        self._files = files
        self._embedder = embedder
        self._vectors: VectorMatrix | None = None
        self._known: dict[str, IndexedFile] = {}
        self._lock = asyncio.Lock()
        self._synced_at = float("-inf")

    @property
    def vectors(self) -> VectorMatrix:
        """The chunks' vectors in RAM, made on first use (never without an embedder)."""
        if self._vectors is None:
            from jobs.memory.vectors import VectorMatrix

            self._vectors = VectorMatrix()
        return self._vectors

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    @property
    def repo(self) -> MemoryRepo:
        return self._repo

    async def start(self) -> SyncReport:
        """Load what is indexed, then catch up with the files (and embed what lacks vectors)."""
        await asyncio.to_thread(self._files.sweep_temp)
        self._known = await self._repo.files()
        await self.load_vectors()
        report = await self.sync()
        await self.backfill()
        return report

    async def load_vectors(self) -> int:
        """Fill the matrix from the stored vectors of the embedder's model, page by page."""
        if self._embedder is None:
            return 0
        from jobs.memory.vectors import from_blobs

        after = 0
        total = await self._repo.count()
        while page := await self._repo.vector_page(
            self._embedder.model, after_id=after, limit=LOAD_PAGE
        ):
            width = len(page[0][1])
            if after == 0:
                self.vectors.reserve(total, width // 4)
            after = page[-1][0]
            good = [(i, blob) for i, blob in page if len(blob) == width]
            self.vectors.add([i for i, _ in good], from_blobs([blob for _, blob in good]))
        logger.info("memory: %d vectors loaded (%s)", len(self.vectors), self._embedder.model)
        return len(self.vectors)

    async def refresh(self, *, max_age: float) -> SyncReport | None:
        """Sync unless the last one is younger than `max_age` seconds."""
        if time.monotonic() - self._synced_at < max_age:
            return None
        return await self.sync()

    async def sync(self) -> SyncReport:
        """Index every changed, new or deleted memory file."""
        async with self._lock:
            listing = await asyncio.to_thread(self._files.listing)
            report = SyncReport()
            for path, stat in listing.items():
                known = self._known.get(path)
                if known is None or (known.mtime_ns, known.size) != stat:
                    try:
                        report.merge(await self._index(path))
                    except OSError as exc:  # one unreadable file must not stop the others
                        logger.warning("memory: %s not indexed: %s", path, exc)
            for path in set(self._known) - set(listing):
                removed = await self._repo.forget_file(path)
                if self._vectors is not None:
                    self._vectors.remove(removed)
                del self._known[path]
                report.removed += len(removed)
                report.forgotten += 1
            await self._prune(report)
            self._synced_at = time.monotonic()
            return report

    async def _prune(self, report: SyncReport) -> None:
        """Chunks went: the vectors cached for their content go too (else the cache only
        grows); a text that comes back is embedded again."""
        if report.removed:
            pruned = await self._repo.prune_vectors()
            logger.debug("memory: %d cached vectors no chunk needs were dropped", pruned)

    async def sync_paths(self, paths: Sequence[Path], /) -> SyncReport:
        """Index these files now (Jobs just wrote them)."""
        report = SyncReport()
        async with self._lock:
            for path in paths:
                report.merge(await self._index(self._files.relative(path)))
            await self._prune(report)
        return report

    async def _index(self, path: str) -> SyncReport:
        absolute = self._files.root / path
        try:
            stat = await asyncio.to_thread(absolute.stat)
        except FileNotFoundError:
            return SyncReport()
        text = await self._files.read(absolute, lenient=True)
        digest = hashlib.sha256(text.encode()).hexdigest()
        state = IndexedFile(path, digest, stat.st_mtime_ns, stat.st_size)
        known = self._known.get(path)
        if known is not None and known.hash == digest:
            await self._repo.apply_file(state)  # touched, not changed: remember the new stat
            self._known[path] = state
            return SyncReport()
        steps = plan(await self._repo.chunks_of(path), chunk_markdown(text))
        report = SyncReport(files=1, removed=len(steps.remove), moved=len(steps.move))
        vectors = await self._vectors_for(steps.add, report)
        added = await self._repo.apply_file(
            state,
            remove=steps.remove,
            move=steps.move,
            add=[ChunkSpec(c.start_line, c.end_line, c.heading, c.text, c.hash) for c in steps.add],
        )
        self._known[path] = state
        if self._vectors is not None:
            self._vectors.remove(steps.remove)
        self._add_vectors(added, vectors)
        report.added = len(added)
        return report

    async def _vectors_for(self, chunks: Sequence[Chunk], report: SyncReport) -> dict[str, Matrix]:
        """Vectors for these chunks: from the cache, else from the embedder (then cached)."""
        if self._embedder is None or not chunks:
            return {}
        from jobs.memory.vectors import from_blobs, to_blob

        model = self._embedder.model
        cached = await self._repo.vectors(model, [c.hash for c in chunks])
        found = {h: from_blobs([blob])[0] for h, blob in cached.items()}
        missing = list({c.hash: c for c in chunks if c.hash not in found}.values())
        if missing:
            try:
                fresh = await self._embedder.embed([c.embedding_text for c in missing])
            except EmbeddingsUnavailable as exc:
                logger.warning("memory: %s; indexed for keywords only until it is back", exc)
                report.embed_errors.append(str(exc))
                return found
            await self._repo.save_vectors(
                model,
                int(fresh.shape[1]),
                [(c.hash, to_blob(v)) for c, v in zip(missing, fresh, strict=True)],
            )
            found.update((c.hash, v) for c, v in zip(missing, fresh, strict=True))
            report.embedded += len(missing)
        return found

    def _add_vectors(self, chunks: Sequence[StoredChunk], vectors: dict[str, Matrix]) -> None:
        have = [c for c in chunks if c.hash in vectors]
        if have:
            from jobs.memory.vectors import stack

            rows = [vectors[c.hash] for c in have]
            try:
                self.vectors.add([c.id for c in have], stack(rows))
            except ValueError as exc:  # the provider changed its width under the same model
                logger.warning("memory: vectors not added: %s", exc)

    async def backfill(self, *, batch: int = BACKFILL_BATCH) -> int:
        """Embed chunks that have no vector yet; stops at the first provider failure."""
        if self._embedder is None:
            return 0
        done = 0
        async with self._lock:
            while chunks := await self._repo.unembedded(self._embedder.model, limit=batch):
                report = SyncReport()
                vectors = await self._vectors_for(chunks_as_new(chunks), report)
                if report.embed_errors:
                    break
                self._add_vectors(chunks, vectors)
                done += len(chunks)
        return done

    async def aclose(self) -> None:
        if self._embedder is not None:
            await self._embedder.aclose()


def chunks_as_new(stored: Sequence[StoredChunk], /) -> list[Chunk]:
    return [Chunk(c.start_line, c.end_line, c.heading, c.text) for c in stored]
