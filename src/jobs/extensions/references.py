"""`${NAME}` references in MCP server configs, as Claude Code expands them (no heavy imports:
the secret launcher runs this inside each server's start)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol

REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
PROTECTED_VARS: Final = re.compile(r"^(TG_|ANTHROPIC_|CLAUDE_)")
"""Jobs' own credentials (Telegram, Claude): never handed to a server the model configured."""


def expand(text: str, environ: Mapping[str, str], /) -> str:
    """`text` with ${NAME} and ${NAME:-default} replaced as Claude Code does."""
    return REFERENCE.sub(lambda m: environ.get(m.group(1), (m.group(2) or ":-")[2:]), text)


def names_in(text: str, /) -> set[str]:
    """The variables `text` refers to without a default."""
    return {m.group(1) for m in REFERENCE.finditer(text) if m.group(2) is None}


class StoredSecrets(Protocol):
    """The owner's stored secrets as an MCP config sees them (extensions.secret_store)."""

    @property
    def path(self) -> Path: ...

    @property
    def revision(self) -> int:
        """Counts every change of the stored names."""

    def __contains__(self, name: object, /) -> bool: ...

    def values(self) -> dict[str, str]: ...
