"""OwnerWrites: in the owner's own account, the owner writing to a person themselves (from any
device) → a callback (the handover), never a request to Jobs.

What counts: an outgoing message in a private chat with a person (not Saved Messages, not a
bot) that Jobs did not send — not a reply of Jobs' (the SentLog, or after a restart the sent
messages Jobs recorded), not a message sent by the owner's Telegram tools. Registered before
connecting: messages the owner wrote while Jobs was down come with catch-up (their date
says whether the handover is still in force).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telethon import TelegramClient, events
from telethon.tl import types

from jobs.storage.busy import retry_busy
from jobs.telegram.inbound import SentLog, SentTrust

logger = logging.getLogger(__name__)

OnOwnerWrote = Callable[[int, str, datetime], Awaitable[object]]
"""(person id, text, when): the owner wrote to that person themselves."""


class OwnerWrites:
    """Watches the account's outgoing private messages for the owner's own."""

    def __init__(
        self,
        *,
        client: TelegramClient,
        owner_id: int,
        sent_log: SentLog,
        sent_trust: SentTrust,
        on_write: OnOwnerWrote,
    ) -> None:
        self._client = client
        self._owner_id = owner_id
        self._sent_log = sent_log
        self._sent_trust = sent_trust
        self._on_write = on_write
        self._me_id: int | None = None

    def register(self) -> None:
        self._client.add_event_handler(
            self._on_event, events.NewMessage(outgoing=True, func=_to_a_person)
        )

    def unregister(self) -> None:
        self._client.remove_event_handler(self._on_event)

    async def _on_event(self, event: Any) -> None:
        message = event.message
        if not await self._by_owner(message):
            return
        chat_id, text = int(message.chat_id), message.message or ""
        await retry_busy(
            lambda: self._on_write(chat_id, text, message.date),
            what=f"Noting that the owner wrote to {chat_id}",  # i18n: skip (the log's)
        )

    async def _by_owner(self, message: Any) -> bool:
        """True for the owner's own message to someone else in the owner's own account."""
        if not isinstance(message, types.Message):
            return False
        me_id = await self._self_id()
        chat_id = int(message.chat_id)
        if me_id != self._owner_id or chat_id == me_id:
            return False  # an account of Jobs' own, or Saved Messages (the owner's notes)
        if await self._sent_log.is_own(chat_id, int(message.id), text=message.message or ""):
            return False
        if await self._sent_trust(chat_id, int(message.id)) is not None:
            return False  # Jobs sent it before a restart
        chat = await message.get_chat()
        return isinstance(chat, types.User) and not chat.bot

    async def _self_id(self) -> int:
        if self._me_id is None:
            me = await self._client.get_me(input_peer=True)
            self._me_id = int(me.user_id)
        return self._me_id


def _to_a_person(event: Any) -> bool:
    return bool(event.is_private)
