"""The catalogs in the source tree, read with Babel, and what extraction finds in the code."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

SRC = Path(__file__).resolve().parents[3] / "src" / "jobs"
LOCALE = SRC / "locale"
TEMPLATE = LOCALE / "jobs.pot"

MessageKey = tuple[str, str | None]
"""A catalog entry's identity: its msgid (the singular) and context."""


def languages() -> list[str]:
    return sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES" / "jobs.po").is_file())


def po_path(code: str) -> Path:
    return LOCALE / code / "LC_MESSAGES" / "jobs.po"


def read(path: Path) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp)


def entries(catalog: Catalog) -> dict[MessageKey, Message]:
    return {(_singular(m), m.context): m for m in catalog if m.id}


def extracted() -> set[MessageKey]:
    """What `scripts/i18n` would put in the template today."""
    found: set[MessageKey] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(SRC), keywords={**DEFAULT_KEYWORDS, "gettext_noop": None, "rich": (2,)}
    ):
        singular = message[0] if isinstance(message, tuple | list) else message
        if singular:
            found.add((singular, context))
    return found


def _singular(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id
