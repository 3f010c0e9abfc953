"""VectorMatrix: the chunks' unit vectors in one numpy matrix in RAM, kept in step with the index.

Loaded once from SQLite at start, then updated row by row as chunks come and go (append;
removal moves the last row into the hole), so a search never waits for a reload. Rows live in
fixed-size blocks, so growing never copies the whole matrix. Cosine
similarity is a dot product because every row and every query has unit length.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from jobs.memory.embeddings import Matrix

BLOCK_ROWS: Final = 4096
"""Rows per block. The matrix grows a block at a time and is never copied whole: a contiguous
matrix would briefly need old + new size (1.3 GB at 110k x 1536) each time it grew."""


class VectorMatrix:
    """Chunk id → unit vector, for one model. Thread-safe: searches run in a worker thread
    (numpy releases the GIL) while the event loop applies index changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blocks: list[Matrix] = []
        self._ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def dim(self) -> int:
        """Width of the vectors (0 while nothing was ever added)."""
        return int(self._blocks[0].shape[1]) if self._blocks else 0

    @property
    def nbytes(self) -> int:
        return sum(block.nbytes for block in self._blocks) + int(self._ids.nbytes)

    def reserve(self, rows: int, dim: int, /) -> None:
        """Make room for `rows` vectors of width `dim` (a load of known size)."""
        with self._lock:
            self._ensure(max(0, rows - self._count), dim)

    def add(self, ids: Sequence[int], vectors: Matrix, /) -> None:
        """Set the vectors of `ids` (rows of `vectors`, unit length), replacing old ones."""
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if not ids:
            return
        with self._lock:
            self._ensure(len(ids), int(vectors.shape[1]))
            for chunk_id, vector in zip(ids, vectors, strict=True):
                row = self._row_of.get(chunk_id)
                if row is None:
                    row = self._count
                    self._count += 1
                    self._row_of[chunk_id] = row
                    self._ids[row] = chunk_id
                self._blocks[row // BLOCK_ROWS][row % BLOCK_ROWS] = vector

    def remove(self, ids: Iterable[int], /) -> None:
        with self._lock:
            for chunk_id in ids:
                row = self._row_of.pop(chunk_id, None)
                if row is None:
                    continue
                last = self._count - 1
                if row != last:
                    moved = int(self._ids[last])
                    self._blocks[row // BLOCK_ROWS][row % BLOCK_ROWS] = self._blocks[
                        last // BLOCK_ROWS
                    ][last % BLOCK_ROWS]
                    self._ids[row] = moved
                    self._row_of[moved] = row
                self._count = last

    def top(self, query: Matrix, k: int, /) -> list[tuple[int, float]]:
        """The `k` chunk ids most similar to `query` (a unit vector), best first."""
        with self._lock:
            if self._count == 0 or k <= 0:
                return []
            if query.shape[-1] != self.dim:
                raise ValueError(f"query has {query.shape[-1]} dimensions, the index {self.dim}")
            scores = np.empty(self._count, dtype=np.float32)
            vector = query.reshape(-1)
            for start in range(0, self._count, BLOCK_ROWS):
                rows = min(BLOCK_ROWS, self._count - start)
                # einsum, not `@`: a matrix-vector product is memory-bound, and OpenBLAS's
                # threads (what `@` uses) make its tail latency several times worse when the
                # CPUs are busy with other work, as they are next to the CLI processes.
                np.einsum(
                    "ij,j->i",
                    self._blocks[start // BLOCK_ROWS][:rows],
                    vector,
                    out=scores[start : start + rows],
                )
            k = min(k, self._count)
            best = np.argpartition(-scores, k - 1)[:k]
            best = best[np.argsort(-scores[best], kind="stable")]
            return [(int(self._ids[i]), float(scores[i])) for i in best]

    def _ensure(self, extra: int, dim: int) -> None:
        if self.dim and dim != self.dim:
            raise ValueError(f"vectors have {dim} dimensions, the index {self.dim}")
        needed = self._count + extra
        while len(self._blocks) * BLOCK_ROWS < needed:
            self._blocks.append(np.zeros((BLOCK_ROWS, dim), dtype=np.float32))
        if len(self._ids) < len(self._blocks) * BLOCK_ROWS:
            ids = np.zeros(len(self._blocks) * BLOCK_ROWS, dtype=np.int64)
            ids[: self._count] = self._ids[: self._count]
            self._ids = ids


def from_blobs(blobs: Sequence[bytes], /) -> Matrix:
    """Stored vectors (float32 little-endian) as matrix rows; all must have the same width."""
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)


def stack(rows: Sequence[Matrix], /) -> Matrix:
    return np.vstack(rows).astype(np.float32, copy=False)


def to_blob(vector: Matrix, /) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()
