"""The owner's Telegram read for ChatHistory (jobs.memory.history), for opted-in chats only:
a chat's messages since the last read, its read mark, and the updates that keep the index in
step (new messages, edits, deletions). A chat that is not opted in is never asked about."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any, Final

from telethon import TelegramClient, errors, events, functions
from telethon.tl import types

from jobs.memory.history import ChatTarget
from jobs.storage.busy import retry_busy
from jobs.storage.history import HistoryEntry
from jobs.telegram.api import TelegramApi
from jobs.telegram.failures import describe_rpc_error
from jobs.telegram.values import chat_ref, display_name, media_label

logger = logging.getLogger(__name__)

PAGE: Final = 100
"""Messages per request (Telegram's maximum for messages.getHistory)."""
OWNER_LABEL: Final = "you"

OnMessage = Callable[[HistoryEntry], Awaitable[object]]
OnDeleted = Callable[[Collection[int], int | None], Awaitable[object]]
Watching = Callable[[int], bool]


class TelegramHistory:
    """memory.history.HistorySource over a Telethon client."""

    def __init__(self, *, client: TelegramClient, api: TelegramApi, page: int = PAGE) -> None:
        self._client = client
        self._api = api
        self._page = page

    async def find_chat(self, ref: str, /) -> ChatTarget:
        entity = await self._api.resolve(ref)
        chat = chat_ref(entity)
        return ChatTarget(chat.id, chat.name or chat.label(), message_link(entity))

    async def messages(self, chat_id: int, after: int, /) -> AsyncIterator[list[HistoryEntry]]:
        page: list[HistoryEntry] = []
        try:
            async for message in self._client.iter_messages(chat_id, min_id=after, reverse=True):
                entry = history_entry(message, chat_id)
                if entry is not None:
                    page.append(entry)
                if len(page) >= self._page:
                    yield page
                    page = []
        except errors.RPCError as exc:
            raise describe_rpc_error(exc, f"reading the history of chat {chat_id}") from exc
        if page:
            yield page

    async def read_mark(self, chat_id: int, /) -> int:
        try:
            peer = await self._client.get_input_entity(chat_id)
            found = await self._client(
                functions.messages.GetPeerDialogsRequest(peers=[types.InputDialogPeer(peer)])
            )
        except errors.RPCError as exc:
            raise describe_rpc_error(exc, f"reading chat {chat_id}'s unread mark") from exc
        dialogs = getattr(found, "dialogs", None) or []
        return int(dialogs[0].read_inbox_max_id) if dialogs else 0


class HistoryUpdates:
    """The updates that keep the index in step, for opted-in chats (registered before
    connecting: catch-up brings what happened while Jobs was down, deletions included)."""

    def __init__(
        self,
        *,
        client: TelegramClient,
        watching: Watching,
        on_message: OnMessage,
        on_deleted: OnDeleted,
    ) -> None:
        self._client = client
        self._watching = watching
        self._on_message = on_message
        self._on_deleted = on_deleted

    def register(self) -> None:
        wanted = events.NewMessage(func=self._wanted)
        self._client.add_event_handler(self._on_new, wanted)
        self._client.add_event_handler(self._on_new, events.MessageEdited(func=self._wanted))
        self._client.add_event_handler(self._on_delete, events.MessageDeleted())

    def unregister(self) -> None:
        self._client.remove_event_handler(self._on_new)
        self._client.remove_event_handler(self._on_delete)

    def _wanted(self, event: Any) -> bool:
        return event.chat_id is not None and self._watching(int(event.chat_id))

    async def _on_new(self, event: Any) -> None:
        entry = history_entry(event.message, int(event.chat_id))
        if entry is not None:
            await retry_busy(
                lambda: self._on_message(entry), what="Indexing a message"
            )  # i18n: skip (the log's)

    async def _on_delete(self, event: Any) -> None:
        chat_id = None if event.chat_id is None else int(event.chat_id)
        if chat_id is not None and not self._watching(chat_id):
            return
        ids = [int(i) for i in event.deleted_ids]
        await retry_busy(
            lambda: self._on_deleted(ids, chat_id), what="Forgetting deleted messages"
        )  # i18n: skip (the log's)


def history_entry(message: Any, chat_id: int, /) -> HistoryEntry | None:
    """A message as the index keeps it; None for service messages and empty ones."""
    if not isinstance(message, types.Message):
        return None
    text = message.message or ""
    label = media_label(message)
    if label:
        text = f"[{label}] {text}".strip()
    if not text:
        return None
    if message.out:
        sender = OWNER_LABEL
    else:
        who = message.sender or message.chat
        sender = display_name(who) if who is not None else "someone"
    return HistoryEntry(
        chat_id=chat_id,
        msg_id=int(message.id),
        sent_at=message.date,
        sender=sender,
        outgoing=bool(message.out),
        text=text,
    )


def message_link(entity: Any, /) -> str:
    """The start of a link to one of the chat's messages (its id goes at the end)."""
    username = getattr(entity, "username", None)
    if isinstance(entity, types.Channel):
        return f"https://t.me/{username}/" if username else f"https://t.me/c/{entity.id}/"
    if isinstance(entity, types.User):
        return f"tg://openmessage?user_id={entity.id}&message_id="
    if isinstance(entity, types.Chat):
        return f"tg://openmessage?chat_id={entity.id}&message_id="
    return ""
