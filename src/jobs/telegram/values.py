"""Telethon entities and messages → the values the telegram tools read (ChatRef, MessageInfo)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telethon import utils
from telethon.tl import types

from jobs.telegram.media import human_size
from jobs.tools.telegram_account import ChatKind, ChatRef, MessageInfo


def display_name(entity: Any) -> str:
    if isinstance(entity, types.User):
        if entity.is_self:
            return "Saved Messages"
        return " ".join(p for p in (entity.first_name, entity.last_name) if p) or "Deleted account"
    return str(getattr(entity, "title", "") or "")


def chat_ref(entity: Any) -> ChatRef:
    """What a tool says about a chat or person."""
    kind: ChatKind
    if isinstance(entity, types.User):
        kind = "saved" if entity.is_self else "bot" if entity.bot else "user"
    elif isinstance(entity, types.Channel) and not entity.megagroup:
        kind = "channel"
    else:
        kind = "group"
    return ChatRef(
        id=int(utils.get_peer_id(entity)) if entity is not None else 0,
        name=display_name(entity),
        kind=kind,
        username=getattr(entity, "username", None),
    )


def message_info(message: Any, chat: ChatRef) -> MessageInfo:
    sender = message.sender
    return MessageInfo(
        chat=chat,
        msg_id=int(message.id),
        date=message.date,
        sender=display_name(sender) if sender is not None else chat.name,
        text=message.message or "",
        outgoing=bool(message.out),
        media=media_label(message),
        reply_to=message.reply_to_msg_id,
    )


def media_label(message: Any) -> str | None:
    if message.media is None or isinstance(message.media, types.MessageMediaWebPage):
        return None
    file = message.file
    kind = "photo" if message.photo else "voice note" if message.voice else "file"
    if file is None:
        return type(message.media).__name__.removeprefix("MessageMedia").lower()
    parts = [p for p in (file.name, human_size(file.size) if file.size else None) if p]
    return f"{kind} {', '.join(parts)}".strip()


def last_seen(status: Any) -> str:
    if isinstance(status, types.UserStatusOnline):
        return "online now"
    if isinstance(status, types.UserStatusOffline):
        was: datetime = status.was_online
        return was.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    named = {
        types.UserStatusRecently: "recently",
        types.UserStatusLastWeek: "within a week",
        types.UserStatusLastMonth: "within a month",
    }
    return next((text for cls, text in named.items() if isinstance(status, cls)), "unknown")
