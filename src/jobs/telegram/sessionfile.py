"""Telethon's session file on disk: whether it holds an authorised key, and its permissions.

Read with the standard sqlite3 module so that `jobs doctor` can look without connecting.
"""

from __future__ import annotations

import sqlite3
import stat
from enum import StrEnum
from pathlib import Path


class SessionState(StrEnum):
    """What the session file says, without asking Telegram."""

    MISSING = "missing"
    EMPTY = "empty"  # a file exists but no login was completed in it
    AUTHORISED_KEY = "authorised_key"  # holds an auth key (Telegram may still have revoked it)
    CORRUPT = "corrupt"


def inspect_session(path: Path) -> SessionState:
    """Look at a Telethon SQLite session file."""
    if not path.exists():
        return SessionState.MISSING
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT auth_key FROM sessions LIMIT 1").fetchone()
    except sqlite3.DatabaseError:
        return SessionState.CORRUPT
    if row is None or not row[0]:
        return SessionState.EMPTY
    return SessionState.AUTHORISED_KEY


def secure_permissions(path: Path) -> None:
    """Make the session file readable by its owner only (it is a full login to the account)."""
    if path.exists() and stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)
