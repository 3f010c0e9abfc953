"""Translator: Jobs' fixed words in one language, with named placeholders filled safely.

Templates name their values (`{who}`); a value is inserted as it is and never read as a
template, and a template may only name values (no `{x.attr}`, no `{x[0]}`, no format specs),
so neither another person's text nor a faulty translation can reach an object's attributes.
Literal braces are written `{{` and `}}`.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from typing import Final

from jobs.richtext import RichText

_FIELD: Final = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: str, values: Mapping[str, object], /) -> str:
    """`template` with each `{name}` replaced by `str(values[name])`; an unknown name stays as
    written (a translation that names a value the code does not pass shows it, not a crash)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        return str(values[name]) if name in values else token

    return _FIELD.sub(one, template)


def placeholders(template: str, /) -> frozenset[str]:
    """The value names a template uses."""
    return frozenset(m.group(1) for m in _FIELD.finditer(template) if m.group(1))


class Translator:
    """One language's words. `gettext` and `ngettext` are the names the extractor looks for:
    every fixed text a person reads goes through them, as a literal, with values as keywords."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def gettext(self, message: str, /, **values: object) -> str:
        return fill(self._translations.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form for `n` (Russian has three); `{n}` is filled with `n` unless given."""
        return fill(self._translations.ngettext(singular, plural, n), {"n": n, **values})

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        """`message` in `context`, for a short word whose translation depends on where it is."""
        return fill(self._translations.pgettext(context, message), values)

    def rich(self, notice: RichText, message: str, /, **values: str) -> RichText:
        """`message` translated and added to `notice`: its own words as Jobs' text, each `{name}`
        as another person's plain value (RichText.plain), so a name or title can carry no
        formatting and no template of its own, wherever the language puts it."""
        template = self._translations.gettext(message)
        at = 0
        for match in _FIELD.finditer(template):
            token, name = match.group(0), match.group(1)
            if token in ("{{", "}}"):
                notice.text(template[at : match.start()] + token[0])
            elif name in values:
                notice.text(template[at : match.start()]).plain(values[name])
            else:
                notice.text(template[at : match.end()])
            at = match.end()
        return notice.text(template[at:])

    def later(self, marked: str, /, **values: object) -> str:
        """A message marked with `gettext_noop` where it was written, translated now."""
        return fill(self._translations.gettext(marked), values)

    @property
    def name(self) -> str:
        """This language's own name ("English", "Русский")."""
        return self._translations.pgettext("language name", "English")

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"


def english() -> Translator:
    """The source language's words (no catalog needed): for callers that are not told one."""
    return Translator("en", gettext.NullTranslations())


def gettext_noop(message: str, /) -> str:
    """Marks `message` for the catalogs where it is translated later, when a person's
    Translator is at hand (a command's summary in /help: `t.later(spec.summary)`)."""
    return message
