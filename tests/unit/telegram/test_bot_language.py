"""The companion bot learns the owner's Telegram app language (bots are told it; a user
account is not) and speaks the owner's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.i18n.catalogs import Catalogs
from jobs.i18n.detect import Detection
from jobs.i18n.speakers import Speakers
from jobs.storage import AuditRepo, Database
from jobs.storage.languages import LanguageRepo
from jobs.telegram.bot import CompanionBot

OWNER = 1000


class NoGuess:
    def detect(self, text: str, /) -> Detection | None:
        return None


@dataclass
class Sender:
    lang_code: str | None


@dataclass
class Message:
    """What the bot's handler reads of a NewMessage event."""

    raw_text: str
    lang_code: str | None
    sender_id: int = OWNER
    is_private: bool = True
    said: list[str] = field(default_factory=list)

    @property
    def sender(self) -> Sender:
        return Sender(self.lang_code)

    async def respond(self, text: str, **_: Any) -> None:
        self.said.append(text)


async def decide(code: str, *, approve: bool, scoped: bool = False) -> str:
    return "decided"


async def test_the_owners_app_language_becomes_theirs_unless_they_chose(db: Database):
    speakers = Speakers(
        catalogs=Catalogs.shipped(), repo=LanguageRepo(db), detector=NoGuess(), owner_id=OWNER
    )
    bot = CompanionBot(client=None, token="1:x", owner_id=OWNER)
    bot.answer_with(
        decide, AuditRepo(db), words=speakers.owner, app_language=speakers.owner_app_language
    )
    start = Message("/start", lang_code="ru-RU")
    await bot._on_message(start)
    assert start.said == [
        "Готово: вопросы о разрешениях будут приходить сюда карточками с кнопками. "
        "Всё остальное — в нашем обычном чате."
    ]
    assert (await speakers.owner()).language == "ru"

    await speakers.choose(OWNER, "en")
    again = Message("hello", lang_code="ru")
    await bot._on_message(again)
    assert again.said[0].startswith("I only carry approval cards.")
    odd = Message("/start", lang_code="ru; DROP TABLE languages")  # only a code is ever kept
    await bot._on_message(odd)
    assert (await speakers.owner()).language == "en"
