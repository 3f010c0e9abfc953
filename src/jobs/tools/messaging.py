"""send_to_user: Jobs writes to anyone the owner names (through the outbox, exactly once).

Who a name means is asked of a PersonResolver (declared here, implemented over Telethon in
jobs.telegram.people) and of the people Jobs has already seen; several matches are never
guessed between: the tool says who they are, so the model can ask the owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Protocol

from claude_agent_sdk import tool

from jobs.errors import JobsError
from jobs.messages import OutboundMessage
from jobs.storage import OutboxRepo, PeopleRepo, Person
from jobs.tools.registry import ToolServer, qualified_name
from jobs.tools.results import ToolResult, error_result, text_result

logger = logging.getLogger(__name__)

SERVER_NAME: Final = "messaging"
SEND_TOOL: Final = qualified_name(SERVER_NAME, "send_to_user")
OWNER_WORDS: Final = frozenset({"owner", "me", "myself"})
"""`to` values that mean the owner (their chat with Jobs)."""
MAX_TEXT_CHARS: Final = 8000
MAX_MATCHES_SHOWN: Final = 8


@dataclass(frozen=True, slots=True)
class Candidate:
    """A Telegram user a name may mean."""

    user_id: int
    name: str
    username: str | None = None
    phone: str | None = None
    is_contact: bool = False


class PersonResolver(Protocol):
    """Finds Telegram users for the owner's tools (jobs.telegram.people.TelegramPeople).

    `resolve(query)` returns everyone `query` may mean: an @username or t.me link, a phone
    number (among the owner's contacts), a numeric user id this account has seen, or a
    contact's name (first, last or full, any case; exact matches win over partial ones).
    An empty list when nobody matches. Raises TelegramError only when Telegram itself fails.
    """

    async def resolve(self, query: str, /) -> list[Candidate]: ...


def person_label(person: Person | Candidate, /) -> str:
    """How the owner and the model see a person: "Bob Smith (@bob, id 42)"."""
    name = person.display_name if isinstance(person, Person) else person.name
    handle = f"@{person.username}, " if person.username else ""
    return f"{name or 'someone'} ({handle}id {person.user_id})"


class PersonLookup:
    """Who a name means, from Telegram and from the people Jobs has seen; whoever is found is
    stored in PeopleRepo (tasks refer to them, and Jobs knows them when they write)."""

    def __init__(self, *, people: PeopleRepo, resolver: PersonResolver | None) -> None:
        self.people = people
        self._resolver = resolver

    async def find(self, query: str, /) -> Person | str:
        """The one person `query` means, or a message saying why not (for the model)."""
        query = query.strip()
        if not query:
            return "Say who: an @username, a phone number, a user id or a contact's name."
        try:
            found = await self._candidates(query)
        except JobsError as exc:
            logger.warning("looking up %r failed: %s", query, exc)
            return f"Telegram could not look up {query!r} just now ({exc}); try again later."
        if not found:
            return (
                f"I found nobody on Telegram for {query!r}. Ask the owner for the person's "
                "@username or phone number, or for a contact name that matches."
            )
        if len(found) > 1:
            shown = "; ".join(person_label(c) for c in found[:MAX_MATCHES_SHOWN])
            return (
                f"{query!r} may mean {len(found)} people: {shown}. Ask the owner which one "
                "they mean, then use that person's id."
            )
        [one] = found
        return await self.people.upsert_seen(
            one.user_id,
            username=one.username,
            display_name=one.name,
            phone=one.phone,
            is_contact=one.is_contact,
        )

    async def _candidates(self, query: str) -> list[Candidate]:
        found = {c.user_id: c for c in await self._known(query)}
        if self._resolver is not None:
            found.update((c.user_id, c) for c in await self._resolver.resolve(query))
        return list(found.values())

    async def _known(self, query: str) -> list[Candidate]:
        """People who wrote to Jobs, by id, @username or their whole name."""
        if query.isdigit():
            person = await self.people.get(int(query))
            return [] if person is None else [_candidate(person)]
        if query.startswith("@"):
            person = await self.people.find_by_username(query)
            return [] if person is None else [_candidate(person)]
        wanted = query.casefold()
        return [
            _candidate(p)
            for p in await self.people.list()
            if p.display_name and p.display_name.casefold() == wanted
        ]


def _candidate(person: Person) -> Candidate:
    return Candidate(
        user_id=person.user_id,
        name=person.display_name,
        username=person.username,
        phone=person.phone,
        is_contact=person.is_contact,
    )


_SEND_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "to": {
            "type": "string",
            "description": (
                'Who: "owner" for the owner, or a person as an @username, a phone number '
                "(+…), a Telegram user id, or a contact's name."
            ),
        },
        "text": {"type": "string", "description": "The message, as it should arrive."},
    },
    "required": ["to", "text"],
}


class MessagingTools:
    """The "messaging" server: send_to_user."""

    def __init__(
        self,
        *,
        lookup: PersonLookup,
        outbox: OutboxRepo,
        owner_chat: int,
    ) -> None:
        self._lookup = lookup
        self._outbox = outbox
        self._owner_chat = owner_chat

    def server(self) -> ToolServer:
        @tool(
            "send_to_user",
            "Send a Telegram message, from the owner's account, to a person (or to the "
            'owner with to="owner"). The person is found by @username, phone number, user '
            "id or contact name; when several people match, nothing is sent and you get "
            "the list: ask the owner which one they mean. Their answer reaches you only "
            "inside a task that talks with them (create_task with talk_to).",
            _SEND_SCHEMA,
        )
        async def send_to_user(args: dict[str, Any]) -> ToolResult:
            return await self.send(args)

        return ToolServer.in_process(SERVER_NAME, [send_to_user])

    async def send(self, args: dict[str, Any], /) -> ToolResult:
        """The tool's body (public so tests can call it without a model)."""
        to, text = args.get("to"), args.get("text")
        if not isinstance(text, str) or not text.strip():
            return error_result("text must be the message to send, not empty.")
        if len(text) > MAX_TEXT_CHARS:
            return error_result(
                f"The text is {len(text)} characters; keep it under {MAX_TEXT_CHARS}."
            )
        if not isinstance(to, str):
            return error_result('to must say who: "owner", an @username, a phone number, an id.')
        if to.strip().lower() in OWNER_WORDS:
            chat_id, who = self._owner_chat, "the owner"
        else:
            person = await self._lookup.find(to)
            if isinstance(person, str):
                return error_result(person)
            chat_id, who = person.user_id, person_label(person)
        await self._outbox.enqueue([OutboundMessage(chat_id=chat_id, text=text.strip())])
        return text_result(f"Sent to {who}.")
