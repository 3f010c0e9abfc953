"""Catalogs: the compiled gettext catalogs shipped in jobs/locale/, one Translator per language.

Adding a language is adding `locale/<code>/LC_MESSAGES/jobs.po` (and its compiled `jobs.mo`,
see CLAUDE.md); English is the source language and needs none. A language without a catalog
gets English.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from importlib import resources
from typing import Final

from jobs.i18n.codes import SOURCE_LANGUAGE, language_code, terminal_language
from jobs.i18n.translator import Translator

DOMAIN: Final = "jobs"


class Catalogs:
    """Every shipped language, loaded once (a catalog is a few dozen kB)."""

    def __init__(self, translators: dict[str, Translator]) -> None:
        self._translators = {
            SOURCE_LANGUAGE: Translator(SOURCE_LANGUAGE, gettext.NullTranslations())
        }
        self._translators.update(translators)

    @classmethod
    def shipped(cls) -> Catalogs:
        """The catalogs in the installed package."""
        found: dict[str, Translator] = {}
        root = resources.files("jobs").joinpath("locale")
        if root.is_dir():
            for entry in root.iterdir():
                mo = entry.joinpath("LC_MESSAGES", f"{DOMAIN}.mo")
                code = language_code(entry.name)
                if code is not None and code == entry.name and mo.is_file():
                    with mo.open("rb") as fp:
                        found[code] = Translator(code, gettext.GNUTranslations(fp))
        return cls(found)

    @classmethod
    def english_only(cls) -> Catalogs:
        """Just the source language (tests of code that does not care about languages)."""
        return cls({})

    @property
    def languages(self) -> tuple[str, ...]:
        """Codes with a catalog, English first."""
        return (SOURCE_LANGUAGE, *sorted(c for c in self._translators if c != SOURCE_LANGUAGE))

    def has(self, code: str, /) -> bool:
        return code in self._translators

    def translator(self, code: str | None, /) -> Translator:
        """`code`'s words, or English when Jobs has no catalog for it."""
        return self._translators.get(code or SOURCE_LANGUAGE) or self._translators[SOURCE_LANGUAGE]

    @property
    def english(self) -> Translator:
        return self._translators[SOURCE_LANGUAGE]


def terminal_words(owner_language: str | None, environ: Mapping[str, str], /) -> Translator:
    """The words of Jobs' terminal commands (doctor, login, chat): OWNER_LANGUAGE, else the
    terminal's language (LC_ALL, LC_MESSAGES, LANG), else English."""
    return Catalogs.shipped().translator(terminal_language(owner_language, environ))
