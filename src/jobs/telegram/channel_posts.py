"""Posts in watched channels and groups → ChannelPost → a callback (the triggers' ChannelWatch),
and finding the chat the owner names (@username, t.me link, id) for subscribe_trigger.

Which chats are watched is asked per update (`watching(chat_id)`), so a subscription made a
moment ago counts at once. Jobs' own account's messages (`out`) are not news to the owner.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from telethon import TelegramClient, errors, events, functions, utils
from telethon.tl import types

from jobs.errors import TelegramError
from jobs.messages import ChannelPost
from jobs.telegram.inbound import describe_media

logger = logging.getLogger(__name__)

OnPost = Callable[[ChannelPost], Awaitable[object]]
Watching = Callable[[int], bool]

_LINK: Final = re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(.+)$", re.IGNORECASE)
_MARK: Final = 10**12  # marked channel ids are -(10**12 + id)
_DIALOGS_SCANNED: Final = 500


def parse_chat_ref(ref: str, /) -> str | int:
    """A username, or a numeric id, from what the owner wrote. Raises TelegramError."""
    text = ref.strip()
    link = _LINK.match(text)
    if link is not None:
        path = link.group(1).split("?")[0].strip("/").split("/")
        if path[0] == "c" and len(path) > 1 and path[1].isdigit():
            return -(_MARK + int(path[1]))  # t.me/c/<id>/<post>: a private channel's post
        if path[0].startswith("+") or path[0] in ("joinchat", "addlist"):
            raise TelegramError(
                "That is a private invite link: join the chat in Telegram first, then "
                "subscribe by its @username or numeric id."
            )
        if path[0] == "s" and len(path) > 1:  # t.me/s/<name>: the public web preview
            return path[1]
        return path[0]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text.removeprefix("@")


class ChannelPosts:
    """Watches subscribed chats on a Telethon client and finds chats for the tools."""

    def __init__(self, *, client: TelegramClient) -> None:
        self._client = client
        self._on_post: OnPost | None = None
        self._watching: Watching | None = None

    def register(self, *, on_post: OnPost, watching: Watching) -> None:
        """Add the NewMessage handler (before connecting: catch-up replays missed posts)."""
        self._on_post, self._watching = on_post, watching
        self._client.add_event_handler(self._on_event, events.NewMessage(func=self._wanted))

    def unregister(self) -> None:
        self._client.remove_event_handler(self._on_event)

    async def resolve_chat(self, ref: str, /) -> tuple[int, str]:
        """(marked id, title) of a channel or group this account can read (joining a public
        channel it has not joined, or it would never get the posts). Raises TelegramError."""
        wanted = parse_chat_ref(ref)
        entity = await self._entity(wanted)
        if isinstance(entity, types.User):
            raise TelegramError(f"{ref} is a person, not a channel or group.")
        if not isinstance(entity, types.Channel | types.Chat):
            raise TelegramError(f"{ref} is not a channel or group this account can read.")
        if isinstance(entity, types.Channel) and entity.left:
            await self._join(entity, ref)
        return int(utils.get_peer_id(entity)), str(entity.title or "")

    @staticmethod
    def to_post(message: Any, chat: Any) -> ChannelPost | None:
        """The ChannelPost for a Telethon message of a channel or group (None: nothing to read)."""
        if not isinstance(message, types.Message):
            return None
        media = describe_media(message)
        if not message.message and media is None:
            return None
        extra = {"date": f"{message.date:%Y-%m-%d %H:%M} UTC"}
        if media is not None:
            extra["media"] = str(media.get("file_name") or media["kind"])
        link = _post_link(chat, int(message.id))
        if link:
            extra["link"] = link
        return ChannelPost(
            chat_id=int(message.chat_id),
            msg_id=int(message.id),
            text=message.message or "",
            chat_title=str(getattr(chat, "title", "") or ""),
            grouped_id=message.grouped_id,
            extra=extra,
        )

    # -- internals ---------------------------------------------------------------------------

    def _wanted(self, event: Any) -> bool:
        watching = self._watching
        return (
            watching is not None
            and not event.is_private
            and not event.out
            and watching(int(event.chat_id))
        )

    async def _on_event(self, event: Any) -> None:
        if self._on_post is None:
            return
        post = self.to_post(event.message, await event.get_chat())
        if post is not None:
            await self._on_post(post)

    async def _entity(self, wanted: str | int) -> Any:
        try:
            return await self._client.get_entity(wanted)
        except (ValueError, errors.RPCError) as exc:
            if isinstance(wanted, int):
                found = await self._from_dialogs(wanted)
                if found is not None:
                    return found
            logger.info("could not resolve %r: %r", wanted, exc)
        shown = f"@{wanted}" if isinstance(wanted, str) else str(wanted)
        raise TelegramError(
            f"No channel or group {shown} found: check the name or link. A private chat "
            "can only be watched once this account is in it."
        )

    async def _from_dialogs(self, wanted: int) -> Any:
        """An id the session has not cached: look through the account's chats."""
        async for dialog in self._client.iter_dialogs(limit=_DIALOGS_SCANNED):
            entity = dialog.entity
            if wanted in (int(dialog.id), int(getattr(entity, "id", 0))):
                return entity
        return None

    async def _join(self, channel: Any, ref: str) -> None:
        try:
            await self._client(functions.channels.JoinChannelRequest(channel))
        except errors.RPCError as exc:
            raise TelegramError(f"Could not join {ref} to receive its posts: {exc}") from exc
        logger.info("joined %s to watch its posts", ref)


def _post_link(chat: Any, msg_id: int) -> str:
    username = getattr(chat, "username", None)
    if username:
        return f"https://t.me/{username}/{msg_id}"
    if isinstance(chat, types.Channel):
        return f"https://t.me/c/{chat.id}/{msg_id}"
    return ""
