"""Logging, configured once: one format, one level, and a filter that masks secrets."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from jobs.redaction import KnownSecrets

# Shapes of secrets that may turn up in a message even when we never logged them on purpose.
_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),  # Anthropic / OpenAI keys
    re.compile(r"\b1[A-Za-z0-9+/=_-]{200,}"),  # Telethon StringSession
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._-]{16,}"),
)
MASK = "***"


class RedactingFilter(logging.Filter):
    """Replaces known secret values (and their encodings) and secret-shaped strings in every
    record. `known` may grow while Jobs runs (a secret the owner stores); `also` adds another
    set, so the filter installed at start learns the app's secrets."""

    def __init__(self, secrets: Iterable[str] | KnownSecrets = ()) -> None:
        super().__init__()
        known = secrets if isinstance(secrets, KnownSecrets) else KnownSecrets(secrets)
        self._known: tuple[KnownSecrets, ...] = (known,)

    def also(self, known: KnownSecrets, /) -> None:
        """Mask `known`'s values too (from now on, and as it grows)."""
        if all(k is not known for k in self._known):
            self._known = (*self._known, known)

    def redact(self, text: str) -> str:
        for known in self._known:
            text = known.mask(text, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, and exc when any.
    The RedactingFilter has already masked the message and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def installed_redactors() -> list[RedactingFilter]:
    """The redacting filters on the root logger's handlers (what configure_logging set up)."""
    return [
        found
        for handler in logging.getLogger().handlers
        for found in handler.filters
        if isinstance(found, RedactingFilter)
    ]


def configure_logging(
    level: str, secrets: Iterable[str] = (), *, json_lines: bool = False
) -> RedactingFilter:
    """Set up the root logger once; returns the filter so callers can redact other text.
    `json_lines`: one JSON object per line (LOG_FORMAT=json) instead of plain text."""
    handler = logging.StreamHandler()
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if json_lines else text)
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Telethon's INFO lines (connections, "cryptg detected") are noise unless debugging.
    telethon = logging.DEBUG if level == "DEBUG" else logging.WARNING
    logging.getLogger("telethon").setLevel(telethon)
    return redactor
