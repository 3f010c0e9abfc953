"""TelegramApi: the account as the owner's tools use it (jobs.tools.telegram_account's protocol).

Chats are named the way a person would (@username, t.me link, id, 'me', 'owner', a name);
answers are Jobs values, errors are JobsErrors; a flood wait is reported, never slept out.
Sends go through the SentLog, so Jobs' own messages in Saved Messages are not taken for the
owner's.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from telethon import TelegramClient, errors, utils
from telethon.tl import functions, types

from jobs.errors import RetryLater, TelegramError
from jobs.telegram.failures import describe_rpc_error
from jobs.telegram.formatting import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    FormattedText,
    render_markdown,
    to_telethon,
    utf16_len,
)
from jobs.telegram.inbound import SentLog
from jobs.telegram.media import TelegramMedia
from jobs.telegram.values import chat_ref, display_name, last_seen, message_info
from jobs.tools.telegram_account import ChatRef, DialogInfo, MessageInfo, PersonInfo, SentInfo

_ID = re.compile(r"-?\d{3,}")
_PHONE = re.compile(r"\+\d{6,15}")
_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me|telegram\.dog)/", re.IGNORECASE)
_PRIVATE_LINK = re.compile(r"(?:t\.me|telegram\.me)/(?:\+|joinchat/)", re.IGNORECASE)
_SELF: Final = frozenset({"me", "self", "saved", "saved messages"})
NAME_SCAN_DIALOGS: Final = 200
"""How many recent chats a name is looked up in (besides the contacts)."""


@contextlib.contextmanager
def failing(doing: str) -> Iterator[None]:
    """Telethon's errors inside the block as JobsErrors (`doing`: "sending the message")."""
    try:
        yield
    except errors.RPCError as exc:
        raise describe_rpc_error(exc, doing) from exc
    except ConnectionError as exc:
        raise RetryLater(10, f"Telegram is not connected right now ({exc}).") from exc
    except ValueError as exc:  # Telethon's word for "cannot find or use that entity"
        raise TelegramError(f"Failed {doing}: {exc}") from exc


class TelegramApi:
    """jobs.tools.telegram_account.TelegramAccount over a Telethon client."""

    def __init__(
        self,
        *,
        client: TelegramClient,
        sent_log: SentLog,
        owner_id: int,
        media: TelegramMedia,
        mask: Callable[[str], str] = str,
    ) -> None:
        self._mask = mask  # masks secrets in every text and caption sent as the owner
        self._client = client
        self._sent_log = sent_log
        self._owner_id = owner_id
        self._media = media

    # -- reading ----------------------------------------------------------------------------

    async def list_dialogs(self, *, limit: int) -> list[DialogInfo]:
        with failing("listing the chats"):
            dialogs = await self._client.get_dialogs(limit=limit)
        return [
            DialogInfo(
                chat=chat_ref(d.entity),
                unread=int(d.unread_count or 0),
                last_date=d.date,
                last_text=(d.message.message or "") if d.message is not None else "",
            )
            for d in dialogs
        ]

    async def read_messages(
        self, chat: str, /, *, limit: int, since: datetime | None
    ) -> list[MessageInfo]:
        entity = await self.resolve(chat)
        found: list[Any] = []
        with failing("reading that chat"):
            async for message in self._client.iter_messages(entity, limit=limit):
                if since is not None and message.date < since:
                    break
                found.append(message)
        ref = chat_ref(entity)
        return [message_info(m, ref) for m in reversed(found) if isinstance(m, types.Message)]

    async def search_messages(
        self, query: str, /, *, chat: str | None, limit: int
    ) -> list[MessageInfo]:
        entity = await self.resolve(chat) if chat else None
        found: list[MessageInfo] = []
        with failing("searching"):
            async for message in self._client.iter_messages(entity, search=query, limit=limit):
                if isinstance(message, types.Message):
                    where = chat_ref(entity or message.chat or message.sender)
                    found.append(message_info(message, where))
        return found

    async def get_user_info(self, who: str, /) -> PersonInfo:
        entity = await self.resolve(who)
        if not isinstance(entity, types.User):
            raise TelegramError(f"{who} is a {chat_ref(entity).kind}, not a person.")
        with failing("looking that person up"):
            full = await self._client(functions.users.GetFullUserRequest(entity))
        return PersonInfo(
            id=int(entity.id),
            name=display_name(entity),
            username=entity.username,
            phone=entity.phone,
            bio=str(getattr(full.full_user, "about", "") or ""),
            is_contact=bool(entity.contact),
            is_bot=bool(entity.bot),
            last_seen=last_seen(entity.status),
        )

    async def download_media(
        self, chat: str, msg_id: int, /, *, folder: Path, max_bytes: int
    ) -> Path:
        entity = await self.resolve(chat)
        with failing("fetching that message"):
            message = await self._client.get_messages(entity, ids=msg_id)
        if not isinstance(message, types.Message):
            raise TelegramError(f"There is no message {msg_id} in {chat_ref(entity).label()}.")
        return await self._media.download(message, folder=folder, max_bytes=max_bytes)

    # -- writing ----------------------------------------------------------------------------

    async def send_message(self, chat: str, text: str, /, *, reply_to: int | None) -> SentInfo:
        entity = await self.resolve(chat)
        body = _fitting(render_markdown(self._mask(text)), MESSAGE_LIMIT, "message")
        async with self._sending(entity, "sending the message") as sent:
            sent.append(
                await self._client.send_message(
                    entity,
                    body.text,
                    formatting_entities=to_telethon(body.entities) or None,
                    reply_to=reply_to,
                    link_preview=False,
                )
            )
        return SentInfo(chat=chat_ref(entity), msg_id=int(sent[0].id))

    async def send_file(self, chat: str, path: Path, /, *, caption: str, photo: bool) -> SentInfo:
        entity = await self.resolve(chat)
        body = _fitting(render_markdown(self._mask(caption)), CAPTION_LIMIT, "caption")
        async with self._sending(entity, "sending the file") as sent:
            sent.append(
                await self._client.send_file(
                    entity,
                    str(path),
                    caption=body.text,
                    formatting_entities=to_telethon(body.entities) or None,
                    force_document=not photo,
                )
            )
        return SentInfo(chat=chat_ref(entity), msg_id=int(sent[0].id))

    async def forward_message(self, from_chat: str, msg_id: int, to_chat: str, /) -> SentInfo:
        source = await self.resolve(from_chat)
        target = await self.resolve(to_chat)
        async with self._sending(target, "forwarding the message") as sent:
            sent.append(await self._client.forward_messages(target, msg_id, from_peer=source))
        if sent[0] is None:
            raise TelegramError(f"There is no message {msg_id} in {chat_ref(source).label()}.")
        return SentInfo(chat=chat_ref(target), msg_id=int(sent[0].id))

    async def mark_read(self, chat: str, /) -> ChatRef:
        entity = await self.resolve(chat)
        with failing("marking the chat as read"):
            await self._client.send_read_acknowledge(entity)
        return chat_ref(entity)

    @contextlib.asynccontextmanager
    async def _sending(self, entity: Any, doing: str) -> Any:
        """Around a send: the SentLog knows the new message before inbound can see it."""
        peer_id = utils.get_peer_id(entity)
        sent: list[Any] = []
        async with self._sent_log.sending(peer_id):
            with failing(doing):
                yield sent
            for message in sent:
                if message is not None:
                    self._sent_log.add(peer_id, int(message.id))

    # -- naming chats -----------------------------------------------------------------------

    async def resolve(self, ref: str, /) -> Any:
        """The Telethon entity a person means by `ref`; TelegramError says why there is none."""
        ref = ref.strip()
        if not ref:
            raise TelegramError("Say which chat: @username, a t.me link, an id, 'me' or a name.")
        if ref.lower() in _SELF:
            return await self._client.get_me()
        if ref.lower() == "owner":
            ref = str(self._owner_id)
        if _ID.fullmatch(ref):
            return await self._by_id(int(ref))
        if _PRIVATE_LINK.search(ref):
            raise TelegramError(
                f"{ref} is a private invite link: join that chat in Telegram first, then name "
                "it by its title."
            )
        if ref.startswith("@") or _LINK.match(ref) or _PHONE.fullmatch(ref):
            return await self._by_handle(ref)
        return await self._by_name(ref)

    async def _by_id(self, chat_id: int) -> Any:
        for attempt in range(2):
            try:
                return await self._client.get_entity(chat_id)
            except ValueError:
                if attempt == 0:  # not cached: the dialog list teaches Telethon recent chats
                    with failing("listing the chats"):
                        await self._client.get_dialogs(limit=NAME_SCAN_DIALOGS)
            except errors.RPCError as exc:
                raise describe_rpc_error(exc, f"finding chat {chat_id}") from exc
        raise TelegramError(
            f"This account has never seen chat {chat_id}: use the @username or the name."
        )

    async def _by_handle(self, ref: str) -> Any:
        try:
            return await self._client.get_entity(ref)
        except (ValueError, errors.UsernameNotOccupiedError, errors.UsernameInvalidError):
            raise TelegramError(f"Nobody on Telegram is called {ref}.") from None
        except errors.RPCError as exc:
            raise describe_rpc_error(exc, f"finding {ref}") from exc

    async def _by_name(self, name: str) -> Any:
        with failing(f"looking for {name!r}"):
            dialogs = await self._client.get_dialogs(limit=NAME_SCAN_DIALOGS)
            contacts = await self._client(functions.contacts.GetContactsRequest(hash=0))
        candidates = {utils.get_peer_id(d.entity): d.entity for d in dialogs}
        for user in getattr(contacts, "users", []):
            candidates.setdefault(utils.get_peer_id(user), user)
        wanted = name.casefold()
        named = [(display_name(e).casefold(), e) for e in candidates.values()]
        exact = [e for n, e in named if n == wanted]
        partial = exact or [e for n, e in named if wanted in n]
        if len(partial) == 1:
            return partial[0]
        if not partial:
            raise TelegramError(
                f"No contact or recent chat is called {name!r}: try the @username or id."
            )
        shown = "; ".join(chat_ref(e).label() for e in partial[:5])
        raise TelegramError(f"Several chats match {name!r}: {shown}. Use the @username or id.")


def _fitting(text: FormattedText, limit: int, what: str) -> FormattedText:
    length = utf16_len(text.text)
    if length > limit:
        raise TelegramError(
            f"The {what} is {length} characters; Telegram takes at most {limit}. Shorten it "
            "or send it in several parts."
        )
    return text
