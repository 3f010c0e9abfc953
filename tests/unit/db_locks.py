"""Another program holding Jobs' database write lock, for tests of what waits for it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """A second connection holds `path`'s write lock (BEGIN EXCLUSIVE) until the block ends,
    or until the block itself rolls it back early."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield other
        finally:
            if other.in_transaction:
                other.execute("ROLLBACK")
