"""Group chats: messages that address Jobs in a group the owner enabled → the inbox; a group's
recent messages for the session; finding the group the owner names.

Only in an account of Jobs' own (in the owner's own account Jobs never speaks in groups, and
their messages are not even stored), only in enabled groups, only messages that mention the
account or reply to one of its messages. Everything else in a group is left alone: not
stored, not read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from telethon import TelegramClient, errors, events
from telethon.tl import types

from jobs.errors import TelegramError
from jobs.messages import GroupLine, InboundMessage, InGroup
from jobs.telegram.api import TelegramApi
from jobs.telegram.inbound import TelegramInbound, describe_media, forward_label
from jobs.telegram.values import chat_ref, display_name

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES: Final = 20
"""How many of a group's messages before a question the session is shown."""

Enabled = Callable[[int], bool]


class GroupMessages:
    """The NewMessage handler for enabled groups (registered before connecting)."""

    def __init__(
        self, *, client: TelegramClient, owner_id: int, inbound: TelegramInbound, enabled: Enabled
    ) -> None:
        """`inbound`: stores what it finds (waiting out a locked database, in order) and
        reads the message a reply answers."""
        self._client = client
        self._owner_id = owner_id
        self._inbound = inbound
        self._enabled = enabled
        self._me: Any = None

    def register(self) -> None:
        self._client.add_event_handler(
            self._on_event, events.NewMessage(incoming=True, func=self._wanted)
        )

    def unregister(self) -> None:
        self._client.remove_event_handler(self._on_event)

    def _wanted(self, event: Any) -> bool:
        return not event.is_private and self._enabled(int(event.chat_id))

    async def _on_event(self, event: Any) -> None:
        message = await self.parse(event.message, await event.get_chat())
        if message is not None:
            await self._inbound.store(message)

    async def parse(self, message: Any, chat: Any) -> InboundMessage | None:
        """The InboundMessage for a group message that addresses Jobs; None for the rest."""
        me = await self._self()
        if int(me.id) == self._owner_id or not isinstance(message, types.Message) or message.out:
            return None  # the owner's own account never speaks in groups
        if isinstance(chat, types.Channel) and not chat.megagroup:
            return None  # a broadcast channel is no conversation
        sender = await message.get_sender()
        if not isinstance(sender, types.User) or sender.bot:
            return None  # a bot, or someone writing as a channel or anonymously
        media = describe_media(message)
        if not message.message and media is None:
            return None
        replied = await self._inbound.replied(message) if message.reply_to_msg_id else None
        if not (mentions(message, me) or (replied is not None and replied.by == "jobs")):
            return None
        return InboundMessage(
            chat_id=int(message.chat_id),
            msg_id=int(message.id),
            sender_id=int(sender.id),
            text=message.message or "",
            sender_name=display_name(sender),
            sender_username=sender.username,
            sender_is_contact=bool(sender.contact),
            reply_to=message.reply_to_msg_id,
            media=media,
            forwarded_from=forward_label(message),
            replied=replied,
            group=InGroup(title=str(getattr(chat, "title", "") or ""), addressed=True),
        )

    async def _self(self) -> Any:
        if self._me is None:
            self._me = await self._client.get_me()
        return self._me


def mentions(message: Any, me: Any, /) -> bool:
    """Whether `message` names the account: Telegram's own flag (a mention, or a reply to it),
    an @username of the account, or a mention by name that points at it."""
    if getattr(message, "mentioned", False):
        return True
    names = {name.casefold() for name in _usernames(me)}
    for entity, text in message.get_entities_text():
        if isinstance(entity, types.MessageEntityMentionName) and entity.user_id == me.id:
            return True
        if isinstance(entity, types.MessageEntityMention) and text[1:].casefold() in names:
            return True
    return False


def _usernames(me: Any) -> list[str]:
    names = [me.username] if getattr(me, "username", None) else []
    return names + [u.username for u in getattr(me, "usernames", None) or [] if u.active]


class TelegramGroupContext:
    """conversation.turn.GroupContext: a group's messages before a question."""

    def __init__(self, *, client: TelegramClient, limit: int = CONTEXT_MESSAGES) -> None:
        self._client = client
        self._limit = limit

    async def recent(self, chat_id: int, before: int, /) -> list[GroupLine]:
        try:
            found = [
                m
                async for m in self._client.iter_messages(
                    chat_id, limit=self._limit, offset_id=before
                )
            ]
        except (errors.RPCError, ValueError, OSError) as exc:
            logger.warning("Could not read the messages before %s in %s: %r", before, chat_id, exc)
            return []
        lines = [_line(m) for m in reversed(found) if isinstance(m, types.Message)]
        return [line for line in lines if line.text]


def _line(message: Any) -> GroupLine:
    sender = message.sender
    text = message.message or ""
    if not text and message.media is not None:
        text = "[an attachment]"  # i18n: skip (for the model)
    return GroupLine(
        msg_id=int(message.id),
        sender=display_name(sender) if sender is not None else "someone",
        text=text,
        by_jobs=bool(message.out),
    )


class GroupFinder:
    """The group the owner names, among the chats this account is in (never joining one)."""

    def __init__(self, *, api: TelegramApi) -> None:
        self._api = api

    async def find_group(self, ref: str, /) -> tuple[int, str]:
        """(marked id, title); TelegramError says why `ref` is not a group Jobs can be in."""
        entity = await self._api.resolve(ref)
        ref_shown = chat_ref(entity).label()
        if isinstance(entity, types.User):
            raise TelegramError(f"{ref_shown} is a person, not a group.")
        if isinstance(entity, types.Channel) and not entity.megagroup:
            raise TelegramError(
                f"{ref_shown} is a channel: nobody writes to Jobs there. To follow its posts, "
                "watch it (subscribe_trigger)."
            )
        gone = isinstance(entity, types.ChatForbidden | types.ChannelForbidden)
        if gone or getattr(entity, "left", False) or getattr(entity, "deactivated", False):
            raise TelegramError(
                f"This account is not in {ref_shown}: add it to the group first, then enable it."
            )
        return chat_ref(entity).id, str(getattr(entity, "title", "") or "")
