"""TelegramPeople: who a name means on Telegram (the PersonResolver of jobs.tools.messaging).

A user found here is also cached in Telethon's session (with its access hash), so the outbox
can then send to them by id.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from telethon import TelegramClient, errors
from telethon.tl import functions, types

from jobs.errors import TelegramError
from jobs.tools.messaging import Candidate

logger = logging.getLogger(__name__)

_USERNAME: Final = re.compile(
    r"^(?:@|(?:https?://)?(?:t|telegram)\.me/)([A-Za-z][A-Za-z0-9_]{2,31})/?$", re.IGNORECASE
)
_BARE_USERNAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
_PHONE: Final = re.compile(r"^\+?[\d\s().-]{7,20}$")
_NOBODY: Final = (
    errors.UsernameNotOccupiedError,
    errors.UsernameInvalidError,
    errors.PeerIdInvalidError,
)


class TelegramPeople:
    """Resolves @usernames, t.me links, phone numbers, user ids and contact names."""

    def __init__(self, *, client: TelegramClient) -> None:
        self._client = client

    async def resolve(self, query: str, /) -> list[Candidate]:
        """Everyone `query` may mean (see PersonResolver); [] when nobody matches."""
        text = query.strip()
        try:
            if match := _USERNAME.match(text):
                return await self._by_username(match.group(1))
            if text.isdigit():
                return await self._by_id(int(text))
            if _PHONE.match(text):
                return await self._by_phone(re.sub(r"\D", "", text))
            found = await self._by_name(text)
            if not found and _BARE_USERNAME.match(text):
                found = await self._by_username(text)
            return found
        except errors.RPCError as exc:
            raise TelegramError(f"Telegram refused the lookup of {text!r}: {exc}") from exc
        except ConnectionError as exc:
            raise TelegramError(f"Telegram is not reachable to look up {text!r}.") from exc

    async def _by_username(self, username: str) -> list[Candidate]:
        try:
            result = await self._client(functions.contacts.ResolveUsernameRequest(username))
        except _NOBODY:
            return []
        peer = result.peer
        if not isinstance(peer, types.PeerUser):
            return []  # a channel or group, not a person
        return [_candidate(u) for u in result.users if u.id == peer.user_id and _person(u)]

    async def _by_id(self, user_id: int) -> list[Candidate]:
        try:
            entity = await self._client.get_entity(types.PeerUser(user_id))
        except (ValueError, *_NOBODY):
            return []  # never seen by this account: no access hash to reach them with
        return [_candidate(entity)] if isinstance(entity, types.User) and _person(entity) else []

    async def _by_phone(self, digits: str) -> list[Candidate]:
        return [_candidate(u) for u in await self._contacts() if (u.phone or "") == digits]

    async def _by_name(self, name: str) -> list[Candidate]:
        wanted = " ".join(name.casefold().split())
        contacts = await self._contacts()
        exact = [u for u in contacts if wanted in _names(u)]
        if exact:
            return [_candidate(u) for u in exact]
        return [_candidate(u) for u in contacts if wanted in _full_name(u).casefold()]

    async def _contacts(self) -> list[Any]:
        result = await self._client(functions.contacts.GetContactsRequest(hash=0))
        users = getattr(result, "users", [])  # ContactsNotModified carries none
        return [u for u in users if isinstance(u, types.User) and _person(u)]


def _person(user: Any) -> bool:
    return not (user.deleted or user.is_self)


def _full_name(user: Any) -> str:
    return " ".join(part for part in (user.first_name, user.last_name) if part)


def _names(user: Any) -> set[str]:
    parts = (user.first_name, user.last_name, _full_name(user))
    return {" ".join(part.casefold().split()) for part in parts if part}


def _candidate(user: Any) -> Candidate:
    return Candidate(
        user_id=int(user.id),
        name=_full_name(user),
        username=user.username,
        phone=f"+{user.phone}" if user.phone else None,
        is_contact=bool(user.contact),
    )
