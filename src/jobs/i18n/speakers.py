"""Speakers: which language Jobs speaks with whom.

The owner: their own choice (`/language`), else OWNER_LANGUAGE, else English. Telegram gives
a user account no way to read its owner's app language (a user's `lang_code` reaches bots
only), so there is nothing better to default to. Anyone else: the owner's choice for them, else
the language they write in, detected and remembered; a short or unsure message does not change
a language already known.
"""

from __future__ import annotations

import asyncio
from typing import Final

from jobs.i18n.catalogs import Catalogs
from jobs.i18n.codes import SOURCE_LANGUAGE, is_code
from jobs.i18n.detect import Detection, LanguageDetector
from jobs.i18n.translator import Translator
from jobs.storage.languages import LanguageRepo, SetBy

FIRST_GUESS: Final = 0.5
"""Confidence enough to take a language for someone whose language is not known yet."""
CHANGE: Final = 0.8
CHANGE_LETTERS: Final = 12
"""A known language changes only on a sure guess over a real sentence (not "ok" or "да")."""


class Speakers:
    """The language of each person, and its Translator."""

    def __init__(
        self,
        *,
        catalogs: Catalogs,
        repo: LanguageRepo,
        detector: LanguageDetector,
        owner_id: int,
        owner_default: str | None = None,
    ) -> None:
        self.catalogs = catalogs
        self._repo = repo
        self._detector = detector
        self._owner_id = owner_id
        self._owner_default = owner_default or SOURCE_LANGUAGE

    async def language_of(self, user_id: int, /) -> str:
        """The code Jobs speaks with `user_id` (it may have no catalog: then notices are in
        English, while the model is still told the person's language)."""
        known = await self._repo.get(user_id)
        if known is not None:
            return known.code
        return self._owner_default if user_id == self._owner_id else SOURCE_LANGUAGE

    async def words_for(self, user_id: int, /) -> Translator:
        return self.catalogs.translator(await self.language_of(user_id))

    async def owner(self) -> Translator:
        """The owner's words: every notice to the owner is built with these."""
        return await self.words_for(self._owner_id)

    async def heard(self, user_id: int, text: str, /) -> None:
        """Learn a person's language from what they wrote (never the owner's: that is chosen)."""
        if user_id == self._owner_id or not text.strip():
            return
        known = await self._repo.get(user_id)
        if known is not None and known.set_by is SetBy.OWNER:
            return
        guess = await asyncio.to_thread(self._detector.detect, text)
        if guess is None or (known is not None and known.code == guess.language):
            return
        if _convincing(guess, first=known is None):
            await self._repo.detected(user_id, guess.language)

    async def choose(self, user_id: int, code: str | None, /) -> None:
        """Set `user_id`'s language (the owner's word, kept over detection); None: detect again
        (for the owner: back to OWNER_LANGUAGE)."""
        if code is not None and not is_code(code):
            raise ValueError(f"not a language code: {code!r}")
        await self._repo.choose(user_id, code)


def _convincing(guess: Detection, *, first: bool) -> bool:
    if first:
        return guess.confidence >= FIRST_GUESS
    return guess.confidence >= CHANGE and guess.letters >= CHANGE_LETTERS
