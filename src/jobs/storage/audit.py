"""AuditRepo: the append-only record of what ran (tool calls, refusals), secrets redacted."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from jobs.redaction import KnownSecrets
from jobs.storage.database import Database, from_iso

REDACTED: Final = "[redacted]"
MAX_DETAIL_TEXT: Final = 4000
"""Longer strings in an audit detail are cut: the audit says what ran, it is not an archive."""

_SECRET_WORDS: Final = frozenset(
    {"token", "secret", "password", "passwd", "passphrase", "authorization", "cookie", "apikey"}
)
_SECRET_PAIRS: Final = frozenset({("api", "key"), ("auth", "key"), ("private", "key")})
_KEY_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

_SECRET_TEXT: Final = (
    # Anthropic / OpenAI style keys: sk-ant-…, sk-proj-…, sk-…
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), "sk-" + REDACTED),
    # A Telethon StringSession: "1" + urlsafe base64 of dc, address, port and the 256-byte key.
    (re.compile(r"(?<![A-Za-z0-9_\-])1[A-Za-z0-9_\-]{340,}={0,2}"), REDACTED),
    # A Bot API token: <bot id>:<35 characters>.
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_\-]{35}\b"), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]+=*"), r"\1 " + REDACTED),
    # NAME=value where the name says it is secret (shell commands, env dumps).
    (
        re.compile(
            r"(?i)\b(\w*(?:api_?key|token|secret|password|session)\w*)\s*=\s*(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        r"\1=" + REDACTED,
    ),
)


def _is_secret_key(key: str) -> bool:
    parts = [part.lower() for part in _KEY_PARTS.findall(key)]
    if any(part in _SECRET_WORDS for part in parts):
        return True
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(parts)):
        return True
    # "session", "tg_session", "stringSession" hold a login; "session_key"/"session_id" do not.
    return bool(parts) and parts[-1] == "session"


def _redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    if len(text) > MAX_DETAIL_TEXT:
        text = f"{text[:MAX_DETAIL_TEXT]}…[{len(text) - MAX_DETAIL_TEXT} more characters]"
    return text


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _redact_text(str(value))


def redact(detail: Mapping[Any, object], /) -> dict[str, object]:
    """A copy of `detail` safe to store: secret-named keys masked, key-like strings masked."""
    clean: dict[str, object] = {}
    for key, value in detail.items():
        name = str(key)
        clean[name] = REDACTED if _is_secret_key(name) and value else _redact_value(value)
    return clean


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    event: str
    session_key: str | None
    role: str | None
    person_id: int | None
    tool: str | None
    detail: dict[str, Any]
    decision: str | None
    approval_id: int | None


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=from_iso(row["at"]),
        event=row["event"],
        session_key=row["session_key"],
        role=row["role"],
        person_id=row["person_id"],
        tool=row["tool"],
        detail=json.loads(row["detail"] or "{}"),
        decision=row["decision"],
        approval_id=row["approval_id"],
    )


class AuditRepo:
    """The audit trail: tool calls, role violations, access decisions (redacted before write)."""

    def __init__(self, db: Database, *, secrets: Iterable[str] | KnownSecrets = ()) -> None:
        """`secrets`: values masked in every entry; a KnownSecrets may grow while Jobs runs."""
        self._db = db
        self._known = secrets if isinstance(secrets, KnownSecrets) else KnownSecrets(secrets)

    async def record(
        self,
        event: str,
        /,
        *,
        session_key: str | None = None,
        role: str | None = None,
        person_id: int | None = None,
        tool: str | None = None,
        detail: Mapping[str, object] | None = None,
        decision: str | None = None,
        approval_id: int | None = None,
    ) -> int:
        """Append one entry; returns its id."""
        text = json.dumps(redact(detail or {}), ensure_ascii=False, default=str)
        # Known values (the API hash, a stored secret) have no telling shape; their JSON-escaped
        # forms are among those masked.
        text = self._known.mask(text, REDACTED)
        result = await self._db.execute(
            "INSERT INTO audit (at, session_key, role, person_id, event, tool, detail, decision,"
            " approval_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._db.now(),
                session_key,
                role,
                person_id,
                event,
                tool,
                text,
                decision,
                approval_id,
            ),
        )
        return int(result.last_row_id or 0)

    async def latest(self, n: int = 50, /) -> list[AuditEntry]:
        """The newest `n` entries, newest first."""
        rows = await self._db.fetch_all("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (n,))
        return [_entry(row) for row in rows]
