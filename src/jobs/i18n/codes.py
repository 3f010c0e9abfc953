"""Language codes: the one shape a language takes inside Jobs (ISO 639, lower case).

A code comes from a setting, the owner's command, or the detector; whatever the source, only a
string matching this shape is ever stored or put in a prompt, so a language can carry no text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

SOURCE_LANGUAGE: Final = "en"
"""The language Jobs' messages are written in (the msgids of every catalog)."""

_CODE = re.compile(r"^[a-z]{2,3}$")
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_.@][A-Za-z0-9@._-]*)?$")


def language_code(tag: str | None, /) -> str | None:
    """The primary language of a tag ("ru", "ru-RU", "pt_BR.UTF-8" → "ru", "ru", "pt"), or None
    when it is not one."""
    match = _TAG.match((tag or "").strip())
    if match is None:
        return None
    code = match.group(1).lower()
    return code if _CODE.match(code) else None


def is_code(value: str, /) -> bool:
    """Whether `value` is already a stored language code."""
    return _CODE.match(value) is not None


def terminal_language(setting: str | None, environ: Mapping[str, str], /) -> str | None:
    """The language of Jobs' terminal commands (doctor, setup, login): OWNER_LANGUAGE, else the
    terminal's own (LC_ALL, LC_MESSAGES, LANG, as gettext reads them)."""
    if setting:
        return language_code(setting)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return language_code(environ[name])
    return None
