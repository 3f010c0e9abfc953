"""Private Telegram messages → InboundMessage (parsed at the edge) → a callback (the dispatcher).

Who counts: private chats only (groups, channels, bots and service messages are not
conversations; channel posts belong to triggers). With a dedicated account the owner writes
like anyone else. In the owner's own account (me.id == owner_id) the owner talks in Saved
Messages: outgoing messages there are the owner's, except Jobs' own replies (the SentLog);
the owner's messages to other people are ignored.

A message is stored (`on_message`) before the handler returns: Telegram does not send an update
twice. While another program holds the database's lock, storing is tried again and again
(BusyWait), in arrival order, until it works; only stopping Jobs gives up on it (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from telethon import TelegramClient, events
from telethon.errors import RPCError
from telethon.tl import types

from jobs.errors import StorageBusy
from jobs.messages import REPLIED_CHARS, InboundMessage, Replied
from jobs.storage.busy import BusyPolicy, retry_busy

logger = logging.getLogger(__name__)

OnMessage = Callable[[InboundMessage], Awaitable[object]]
SentTrust = Callable[[int, int], Awaitable[bool | None]]
"""(chat id, message id) → None if Jobs did not send it, else whether it is the owner's
untainted session's own words (OutboxRepo.sent_trust)."""


async def _unknown(_chat_id: int, _msg_id: int) -> bool | None:
    return None


class SentLog:
    """Ids of the messages Jobs itself sent, bounded, shared by TelegramChannel and inbound.

    In the owner's own account Jobs' replies land in Saved Messages next to the owner's notes,
    both outgoing: this is how inbound tells them apart. A reply's update can arrive before
    its send returns the id, so inbound waits (briefly) for sends in flight to that chat.
    """

    def __init__(self, *, capacity: int = 2000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._expected: OrderedDict[tuple[int, str], int] = OrderedDict()
        self._settled: dict[int, asyncio.Event] = {}
        self._in_flight: dict[int, int] = {}

    def add(self, chat_id: int, msg_id: int, *, text: str | None = None) -> None:
        """Jobs sent `msg_id`; with `text`, the expectation of that send is settled."""
        self._ids[(chat_id, msg_id)] = None
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        if text is not None:
            self._take_expected(chat_id, text)

    def expect(self, chat_id: int, text: str) -> None:
        """A send whose id may never come back (a crash or a lost answer after Telegram made
        the message): if Telegram shows the message to us later, its text says it is ours."""
        key = (chat_id, text.strip())
        if not key[1]:
            return  # a file without caption: nothing to tell it from the owner's own files
        self._expected[key] = self._expected.get(key, 0) + 1
        self._expected.move_to_end(key)
        while len(self._expected) > self._capacity:
            self._expected.popitem(last=False)

    def _take_expected(self, chat_id: int, text: str) -> bool:
        key = (chat_id, text.strip())
        count = self._expected.get(key, 0)
        if count > 1:
            self._expected[key] = count - 1
        elif count == 1:
            del self._expected[key]
        return count > 0

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    @asynccontextmanager
    async def sending(self, chat_id: int) -> AsyncIterator[None]:
        """Mark a send to `chat_id` as in flight for the duration of the block."""
        if not self._in_flight.get(chat_id):
            self._settled[chat_id] = asyncio.Event()
        self._in_flight[chat_id] = self._in_flight.get(chat_id, 0) + 1
        try:
            yield
        finally:
            self._in_flight[chat_id] -= 1
            if not self._in_flight[chat_id]:
                del self._in_flight[chat_id]
                self._settled.pop(chat_id).set()

    async def is_own(
        self, chat_id: int, msg_id: int, *, text: str | None = None, wait: float = 5.0
    ) -> bool:
        """True if Jobs sent this message (by id, else by the text of an unconfirmed send);
        waits up to `wait` s for sends still in flight."""
        settled = self._settled.get(chat_id)
        if (chat_id, msg_id) not in self._ids and settled is not None:
            try:
                async with asyncio.timeout(wait):
                    await settled.wait()
            except TimeoutError:
                logger.warning("A send to chat %s is still running after %s s", chat_id, wait)
        if (chat_id, msg_id) in self._ids:
            return True
        if text is not None and self._take_expected(chat_id, text):
            self.add(chat_id, msg_id)
            return True
        return False


class TelegramInbound:
    """Turns Telethon NewMessage events into InboundMessages for `on_message`."""

    def __init__(
        self,
        *,
        client: TelegramClient,
        owner_id: int,
        on_message: OnMessage,
        sent_log: SentLog,
        sent_trust: SentTrust = _unknown,
        busy: BusyPolicy | None = None,
    ) -> None:
        """`busy`: how to wait while the database is locked (default: until it is free).
        `sent_trust`: what Jobs knows of a message it sent (a replied-to one)."""
        self._client = client
        self._owner_id = owner_id
        self._on_message = on_message
        self._sent_log = sent_log
        self._sent_trust = sent_trust
        self._busy = busy or BusyPolicy()
        self._me_id: int | None = None
        # Held while a message waits for the database: one stuck behind another program's
        # lock is not overtaken by a newer one, so the inbox keeps Telegram's order.
        self._storing = asyncio.Lock()

    def register(self) -> None:
        """Add the NewMessage handler (incoming and outgoing, private chats only)."""
        self._client.add_event_handler(self._on_event, events.NewMessage(func=_is_private))

    def unregister(self) -> None:
        self._client.remove_event_handler(self._on_event)

    async def _on_event(self, event: Any) -> None:
        parsed = await self.parse(event.message)
        if parsed is not None:
            await self.store(parsed)

    async def store(self, message: InboundMessage, /) -> None:
        """Hand `message` to `on_message`, again after each StorageBusy, until it is stored."""
        if not self._storing.locked():
            # The usual case: concurrent stores, which the dispatcher commits as one batch.
            with contextlib.suppress(StorageBusy):
                await self._on_message(message)
                return
        # Here it met the lock once already, or waits behind a message that did.
        what = f"Storing message {message.msg_id} in chat {message.chat_id}"
        try:
            async with self._storing:
                await retry_busy(
                    functools.partial(self._on_message, message), what=what, policy=self._busy
                )
        except asyncio.CancelledError:  # Jobs is stopping; Telegram will not send it again
            logger.error(
                "Jobs stopped while message %s in chat %s (from %s) waited for the locked "
                "database: it may be lost (Telegram does not send a message twice).",
                message.msg_id,
                message.chat_id,
                message.sender_name or message.sender_id,
            )
            raise

    async def parse(self, message: Any) -> InboundMessage | None:
        """The InboundMessage for a Telethon message, or None when it is not for Jobs."""
        if not isinstance(message, types.Message) or not message.is_private:
            return None
        media = describe_media(message)
        if not message.message and media is None:
            return None
        if message.out and not await self._is_owner_note(message):
            return None
        sender = await message.get_sender()
        if isinstance(sender, types.User) and sender.bot:
            return None
        return InboundMessage(
            chat_id=int(message.chat_id),
            msg_id=int(message.id),
            sender_id=int(message.sender_id),
            text=message.message or "",
            sender_name=_display_name(sender),
            sender_username=getattr(sender, "username", None),
            sender_is_contact=bool(getattr(sender, "contact", False)),
            reply_to=message.reply_to_msg_id,
            media=media,
            forwarded_from=forward_label(message),
            replied=await self._replied(message) if message.reply_to_msg_id else None,
        )

    async def _replied(self, message: Any) -> Replied | None:
        """The earlier message `message` replies to (one request), or None when it cannot be
        read (deleted, or the request failed: the reply still goes on, without it)."""
        try:
            earlier = await message.get_reply_message()
        except (RPCError, ValueError, OSError) as exc:
            logger.warning(
                "Could not read message %s that a message replies to: %r",
                message.reply_to_msg_id,
                exc,
            )
            return None
        if not isinstance(earlier, types.Message):
            return None
        chat_id, msg_id = int(message.chat_id), int(earlier.id)
        quote = getattr(message.reply_to, "quote_text", None)  # the part the writer quoted
        text = quote or earlier.message or ""
        if not text and earlier.media is not None:
            text = f"[{_media_kind(earlier)}]"
        if len(text) > REPLIED_CHARS:
            text = text[: REPLIED_CHARS - 1] + "…"
        by: Literal["owner", "jobs", "person"]
        trust: bool | None = None
        if earlier.out:  # this account's: Jobs', or the owner's own note in their account
            trust = await self._sent_trust(chat_id, msg_id)
            mine = trust is not None or await self._sent_log.is_own(chat_id, msg_id, wait=0)
            by = "jobs" if mine or await self._self_id() != self._owner_id else "owner"
        else:
            by = "owner" if earlier.sender_id == self._owner_id else "person"
        # Jobs' words are outside text unless known to be the owner session's own.
        outside = earlier.fwd_from is not None or by == "person" or (by == "jobs" and not trust)
        return Replied(msg_id=msg_id, text=text, by=by, outside=outside)

    async def _is_owner_note(self, message: Any) -> bool:
        """An outgoing message counts only in own-account mode, in Saved Messages, not Jobs'."""
        me_id = await self._self_id()
        if me_id != self._owner_id or message.chat_id != me_id:
            return False
        return not await self._sent_log.is_own(me_id, int(message.id), text=message.message or "")

    async def _self_id(self) -> int:
        if self._me_id is None:
            me = await self._client.get_me(input_peer=True)
            self._me_id = int(me.user_id)
        return self._me_id


def forward_label(message: Any) -> str | None:
    """Whose words a forwarded message carries, as the owner will read it; None if not one.
    From what the update carried (no extra request): a name, @username and id when Telegram
    gave them, else the name the sender's privacy settings leave, else an id."""
    header = message.fwd_from
    if header is None:
        return None
    forward = message.forward
    who = getattr(forward, "sender", None) or getattr(forward, "chat", None)
    if who is not None:
        name = _display_name(who)
        handle = f"@{who.username}, " if getattr(who, "username", None) else ""
        kind = "the channel " if isinstance(who, types.Channel) and who.broadcast else ""
        return f"{kind}{name or 'someone'} ({handle}id {who.id})"
    if header.from_name:
        return f"{header.from_name} (hidden account)"
    peer = header.from_id
    for attribute in ("user_id", "channel_id", "chat_id"):
        if (peer_id := getattr(peer, attribute, None)) is not None:
            return f"id {peer_id}"
    return "someone"


def _is_private(event: Any) -> bool:
    return bool(event.is_private)


def _display_name(sender: Any) -> str:
    if isinstance(sender, types.User):
        return " ".join(p for p in (sender.first_name, sender.last_name) if p)
    return str(getattr(sender, "title", "") or "")


def describe_media(message: Any) -> dict[str, str | int] | None:
    """What is attached (kind, file name, size, MIME type); nothing is downloaded here."""
    media = message.media
    if media is None or isinstance(media, types.MessageMediaWebPage):
        return None  # a link preview belongs to the text, it is not an attachment
    info: dict[str, str | int] = {"kind": _media_kind(message)}
    if info["kind"] == "other":
        info["type"] = type(media).__name__
    file = message.file
    if file is not None:
        if file.name:
            info["file_name"] = str(file.name)
        if file.size is not None:
            info["size"] = int(file.size)
        if file.mime_type:
            info["mime_type"] = str(file.mime_type)
        if getattr(file, "duration", None):
            info["duration"] = int(file.duration)
    return info


def _media_kind(message: Any) -> str:
    checks = (
        ("photo", message.photo),
        ("sticker", message.sticker),
        ("voice", message.voice),
        ("audio", message.audio),
        ("video", message.video or message.video_note or message.gif),
        ("document", message.document),
    )
    return next((kind for kind, present in checks if present), "other")
