"""/language: shown, changed for oneself, and by the owner for another person."""

from __future__ import annotations

from jobs.conversation.commands import Command, CommandContext
from jobs.conversation.language_command import language_command
from jobs.i18n.catalogs import Catalogs
from jobs.i18n.detect import Detection
from jobs.i18n.speakers import Speakers
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.storage import Database
from jobs.storage.languages import LanguageRepo
from jobs.storage.people import PeopleRepo

OWNER = CommandContext(person_id=1, chat_id=1, session_key=OWNER_KEY, is_owner=True)
ANNA = CommandContext(person_id=2, chat_id=2, session_key=SessionKey.person(2), is_owner=False)


class NoGuess:
    def detect(self, text: str, /) -> Detection | None:
        return None


def parts(db: Database) -> tuple[Speakers, PeopleRepo]:
    speakers = Speakers(
        catalogs=Catalogs.shipped(), repo=LanguageRepo(db), detector=NoGuess(), owner_id=1
    )
    return speakers, PeopleRepo(db)


async def test_anyone_sees_and_sets_their_own_language(db: Database):
    speakers, people = parts(db)
    spec = language_command(speakers=speakers, people=people)
    shown = await spec.handler(ANNA, Command("language"))
    assert isinstance(shown, str) and "English" in shown and "ru (Русский)" in shown
    done = await spec.handler(ANNA, Command("language", ("ru",)))
    assert done == "Готово: буду писать вам на языке: Русский."
    assert await speakers.language_of(2) == "ru"
    await spec.handler(ANNA, Command("language", ("auto",)))
    assert await speakers.language_of(2) == "en"


async def test_only_languages_with_a_catalog_and_only_the_owner_for_others(db: Database):
    speakers, people = parts(db)
    spec = language_command(speakers=speakers, people=people)
    await spec.handler(ANNA, Command("language", ("xx",)))
    await spec.handler(ANNA, Command("language", ("1", "ru")))
    assert await speakers.language_of(1) == "en"
    assert await speakers.language_of(2) == "en"
    await people.upsert_seen(2, username="anna", display_name="Anna")
    said = await spec.handler(OWNER, Command("language", ("@anna", "ru")))
    assert said == "I'll write to \\@anna in Русский."  # Markdown: no mention
    assert await speakers.language_of(2) == "ru"
    unknown = await spec.handler(OWNER, Command("language", ("@nobody", "ru")))
    assert isinstance(unknown, str) and unknown.startswith("I don't know anyone called \\@nobody")
