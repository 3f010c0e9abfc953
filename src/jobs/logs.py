"""Logging, configured once: one format, one level, and a filter that masks secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Shapes of secrets that may turn up in a message even when we never logged them on purpose.
_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),  # Anthropic / OpenAI keys
    re.compile(r"\b1[A-Za-z0-9+/=_-]{200,}"),  # Telethon StringSession
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._-]{16,}"),
)
MASK = "***"


class RedactingFilter(logging.Filter):
    """Replaces known secret values and secret-shaped strings in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
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


def configure_logging(level: str, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Set up the root logger once; returns the filter so callers can redact other text."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redactor = RedactingFilter(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("telethon").setLevel(max(logging.getLevelName(level), logging.INFO))
    return redactor
