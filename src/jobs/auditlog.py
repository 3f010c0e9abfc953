"""`jobs audit`: the newest audit entries, read from the database and printed one per line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from jobs.storage import AuditRepo, Database
from jobs.storage.audit import AuditEntry

MAX_DETAIL: Final = 160
"""Characters of an entry's (already redacted) detail shown on its line."""


def render_entry(entry: AuditEntry, /) -> str:
    """One line: id, time, event, session and role, person, tool, decision, approval, detail."""
    at = entry.at.strftime("%Y-%m-%d %H:%M:%S")
    who = f"person {entry.person_id}" if entry.person_id is not None else "-"
    parts = [
        f"#{entry.id}",
        at,
        entry.event,
        entry.session_key or "-",
        f"({entry.role or '-'})",
        who,
        entry.tool or "-",
        entry.decision or "-",
    ]
    if entry.approval_id is not None:
        parts.append(f"approval #{entry.approval_id}")
    detail = dict(entry.detail)
    shown = detail.get("input", detail) if entry.event == "tool_call" else detail
    if shown:
        text = json.dumps(shown, ensure_ascii=False, default=str)
        parts.append(text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…")
    # A name or argument may hold a newline; one entry stays one line.
    return " ".join(parts).replace("\n", "⏎").replace("\r", "")


def render(entries: Sequence[AuditEntry], /) -> str:
    """Oldest first, so the newest entry is the last line (as `tail` would show it)."""
    if not entries:
        return "No audit entries yet."
    return "\n".join(render_entry(entry) for entry in reversed(entries))


async def latest(db_path: Path, n: int, /) -> list[AuditEntry]:
    """The newest `n` entries of the database at `db_path`, newest first."""
    db = await Database.open(db_path)
    try:
        return await AuditRepo(db).latest(n)
    finally:
        await db.close()
