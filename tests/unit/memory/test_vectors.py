from __future__ import annotations

import numpy as np
import pytest

from jobs.memory import vectors
from jobs.memory.embeddings import normalized
from jobs.memory.vectors import VectorMatrix, from_blobs, to_blob


def brute_force(vectors: dict[int, np.ndarray], query: np.ndarray, k: int) -> list[int]:
    ranked = sorted(vectors, key=lambda i: -float(vectors[i] @ query))
    return ranked[:k]


@pytest.mark.parametrize("block_rows", [4096, 64])
def test_top_matches_brute_force_through_adds_and_removes(
    block_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "BLOCK_ROWS", block_rows)  # 64: rows span many blocks
    rng = np.random.default_rng(7)
    matrix = VectorMatrix()
    kept: dict[int, np.ndarray] = {}
    for step in range(20):
        ids = list(range(step * 50, step * 50 + 50))
        rows = normalized(rng.standard_normal((50, 16)))
        matrix.add(ids, rows)
        kept.update(zip(ids, rows, strict=True))
        gone = [int(i) for i in rng.choice(sorted(kept), 20, replace=False)]
        matrix.remove(gone)
        for i in gone:
            del kept[i]
    assert len(matrix) == len(kept) == 600
    for _ in range(10):
        query = normalized(rng.standard_normal(16))[0]
        top = matrix.top(query, 10)
        assert [i for i, _ in top] == brute_force(kept, query, 10)
        assert top[0][1] == pytest.approx(float(kept[top[0][0]] @ query), rel=1e-5)


def test_add_replaces_an_existing_id_and_remove_ignores_unknown() -> None:
    matrix = VectorMatrix()
    matrix.add([1, 2], normalized([[1, 0], [0, 1]]))
    matrix.add([1], normalized([[0, 1]]))
    matrix.remove([99])
    assert len(matrix) == 2
    assert {i for i, s in matrix.top(normalized([0, 1])[0], 5) if s > 0.99} == {1, 2}


def test_width_mismatch_is_refused() -> None:
    matrix = VectorMatrix()
    assert matrix.top(normalized([1, 0])[0], 3) == []
    matrix.add([1], normalized([[1, 0, 0]]))
    with pytest.raises(ValueError, match="dimensions"):
        matrix.add([2], normalized([[1, 0]]))
    with pytest.raises(ValueError, match="dimensions"):
        matrix.top(normalized([1, 0])[0], 3)


def test_blobs_round_trip() -> None:
    rows = normalized([[3, 4], [1, 0]])
    assert np.array_equal(from_blobs([to_blob(rows[0]), to_blob(rows[1])]), rows)
