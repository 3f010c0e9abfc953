"""/language: which language Jobs writes to someone in, shown and changed.

Anyone may set their own (`/language ru`, `/language auto`); the owner may also set another
person's (`/language @anna ru`), which detection then never changes. Only languages with a
catalog can be chosen, and a choice is stored as its code, nothing else.
"""

from __future__ import annotations

from jobs.conversation.commands import Command, CommandContext, CommandSpec
from jobs.conversation.untrusted import plain_name
from jobs.i18n.speakers import Speakers
from jobs.i18n.translator import Translator, gettext_noop
from jobs.storage.people import PeopleRepo

AUTO = "auto"
MAX_ID_DIGITS = 18


def language_command(*, speakers: Speakers, people: PeopleRepo) -> CommandSpec:
    async def language(ctx: CommandContext, command: Command) -> str:
        t = await speakers.words_for(ctx.person_id)
        if not command.args:
            return await _shown(speakers, ctx.person_id, t)
        if len(command.args) == 1:
            return await _set(speakers, ctx.person_id, command.args[0], t)
        if len(command.args) == 2 and ctx.is_owner:
            target = await _person(people, command.args[0])
            if target is None:
                return t.gettext(
                    "I don't know anyone called {who} yet: they have to write to you first.",
                    who=plain_name(command.args[0]),
                )
            return await _set(speakers, target, command.args[1], t, who=command.args[0])
        return _usage(speakers, t)

    return CommandSpec(
        language,
        gettext_noop("show or change the language I write to you in"),
        usage="[code]",
    )


async def _shown(speakers: Speakers, user_id: int, t: Translator) -> str:
    return t.gettext(
        "I write to you in {language}. {usage}",
        language=t.name,
        usage=_usage(speakers, t),
    )


def _usage(speakers: Speakers, t: Translator) -> str:
    codes = ", ".join(
        f"{code} ({speakers.catalogs.translator(code).name})"
        for code in speakers.catalogs.languages
    )
    return t.gettext(
        "To change it: /language followed by one of {codes}, or {auto} to follow the language "
        "you write in.",
        codes=codes,
        auto=AUTO,
    )


async def _set(
    speakers: Speakers, user_id: int, code: str, t: Translator, *, who: str | None = None
) -> str:
    wanted = code.strip().lower()
    if wanted != AUTO and not speakers.catalogs.has(wanted):
        return _usage(speakers, t)
    await speakers.choose(user_id, None if wanted == AUTO else wanted)
    now = await speakers.words_for(user_id)
    if who is not None:
        return t.gettext(
            "I'll write to {who} in {language}.", who=plain_name(who), language=now.name
        )
    return now.gettext("Done: I'll write to you in {language}.", language=now.name)


async def _person(people: PeopleRepo, target: str) -> int | None:
    numeric = target.isascii() and target.isdigit() and len(target) <= MAX_ID_DIGITS
    if numeric:
        return int(target)
    person = await people.find_by_username(target)
    return person.user_id if person else None
