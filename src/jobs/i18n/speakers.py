"""Speakers: which language Jobs speaks with whom.

The owner: their own choice (`/language`), else OWNER_LANGUAGE, else the language of their
Telegram app, else English. Telegram tells a user account nothing about its owner's app
language (a user's `lang_code` reaches bots only), so that is known only once the owner has
written to the companion bot (TG_BOT_TOKEN). Anyone else: the owner's choice for them, else
the language they write in, detected and remembered; a short or unsure message does not change
a language already known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final

from jobs.i18n.catalogs import Catalogs
from jobs.i18n.codes import SOURCE_LANGUAGE, is_code
from jobs.i18n.detect import Detection, LanguageDetector
from jobs.i18n.translator import Translator, english
from jobs.storage.languages import LanguageRepo, SetBy

OwnerWords = Callable[[], Awaitable[Translator]]
"""The owner's words now (`Speakers.owner`): what every notice to the owner is built with."""
WordsFor = Callable[[int], Awaitable[Translator]]
"""A person's words (`Speakers.words_for`): what a notice to them is built with."""

FIRST_GUESS: Final = 0.5
FIRST_LETTERS: Final = 3
"""Enough to take a language for someone whose language is not known yet. A word of two
letters says little, however sure the model is ("ja" reads as Finnish, "да" as Macedonian,
benchmarks/languages.py): Jobs waits for the next message instead."""
CHANGE: Final = 0.7
CHANGE_LETTERS: Final = 15
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
        self._owner_setting = owner_default

    async def language_of(self, user_id: int, /) -> str:
        """The code Jobs speaks with `user_id` (it may have no catalog: then notices are in
        English, while the model is still told the person's language)."""
        known = await self._repo.get(user_id)
        chosen = known is not None and known.set_by is SetBy.OWNER
        if user_id == self._owner_id and self._owner_setting and not chosen:
            return self._owner_setting  # above the app's language, below the owner's /language
        return known.code if known is not None else SOURCE_LANGUAGE

    async def words_for(self, user_id: int, /) -> Translator:
        return self.catalogs.translator(await self.language_of(user_id))

    async def owner(self) -> Translator:
        """The owner's words: every notice to the owner is built with these."""
        return await self.words_for(self._owner_id)

    async def model_note(self, user_id: int, /) -> str | None:
        """The line that tells the model a person's language, so its replies and Jobs' own
        notices agree; said at the end of each turn's prompt (never in the system prompt,
        whose cached prefix it would break). None for English, the default."""
        code = await self.language_of(user_id)
        notices = self.catalogs.translator(code).language
        if code == SOURCE_LANGUAGE:
            return None
        # Only codes reach this text: a language is never anything a person typed.
        return (
            f"[This person's language: {code}. Jobs' own messages to them are in {notices}. "
            "Answer in the language they write in.]"
        )

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

    async def owner_app_language(self, code: str, /) -> None:
        """The language of the owner's Telegram app (seen by the companion bot)."""
        if is_code(code):
            await self._repo.detected(self._owner_id, code)

    async def choose(self, user_id: int, code: str | None, /) -> None:
        """Set `user_id`'s language (the owner's word, kept over detection); None: detect again
        (for the owner: back to OWNER_LANGUAGE)."""
        if code is not None and not is_code(code):
            raise ValueError(f"not a language code: {code!r}")
        await self._repo.choose(user_id, code)


def _convincing(guess: Detection, *, first: bool) -> bool:
    if first:
        return guess.confidence >= FIRST_GUESS and guess.letters >= FIRST_LETTERS
    return guess.confidence >= CHANGE and guess.letters >= CHANGE_LETTERS


async def english_words() -> Translator:
    """OwnerWords for code that was not given the owner's: English."""
    return english()


async def english_for(user_id: int, /) -> Translator:
    """WordsFor for code that was not given people's languages: English."""
    return english()
