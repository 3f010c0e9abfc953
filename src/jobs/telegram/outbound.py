"""TelegramChannel: outbox rows → Telegram messages, chunked, exactly once; flood → RetryLater."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors, utils
from telethon.errors.rpcerrorlist import rpc_errors_dict
from telethon.tl import functions, types

from jobs.errors import JobsError, RetryLater, TelegramError
from jobs.messages import MESSAGE_LIMIT, OutboundMessage, SentRef
from jobs.richtext import FormattedText
from jobs.telegram.client import OWNER_UNREACHABLE, find_peer
from jobs.telegram.drafts import ChatDrafts
from jobs.telegram.formatting import to_telethon, utf16_len
from jobs.telegram.inbound import SentLog
from jobs.telegram.rendering import body_of, caption_parts, text_chunks

logger = logging.getLogger(__name__)

_RANDOM_ID_SPAN = 2**63 - 1  # random_id is a signed 64-bit long; we keep it in 1..2**63-1
_TRANSIENT_WAIT = 10.0  # seconds before retrying after a disconnect or a Telegram-side 500
_OWNER_WAIT = 30.0  # seconds between tries to reach an owner this account has not met yet
_LEARN_EVERY = 300.0  # seconds: contacts and dialogs are looked through at most this often
_ERROR_NAMES = {cls: name for name, cls in rpc_errors_dict.items()}
_HINTS = {
    "USER_IS_BLOCKED": "the user has blocked this account",
    "YOU_BLOCKED_USER": "this account has blocked the user",
    "PEER_ID_INVALID": "Telegram does not know this chat for this account",
    "INPUT_USER_DEACTIVATED": "the user's account was deleted",
    "USER_DEACTIVATED": "the user's account was deleted",
    "CHAT_WRITE_FORBIDDEN": "this account may not write in that chat",
    "USER_PRIVACY_RESTRICTED": "the user's privacy settings forbid it",
}
_EXTRA_ENTITY_ERRORS = {"MESSAGE_EMPTY", "ENTITIES_TOO_LONG", "BUTTON_URL_INVALID"}


def derive_random_id(base: int, index: int) -> int:
    """The random_id of chunk `index` of a row: stable across resends, never 0."""
    return (base - 1 + index) % _RANDOM_ID_SPAN + 1


Chunk = FormattedText
MakeRequest = Callable[[Chunk], Any]


class TelegramChannel:
    """jobs.messages.Channel over a Telethon client (see the protocol for the contract)."""

    def __init__(
        self,
        *,
        client: TelegramClient,
        sent_log: SentLog,
        mask: Callable[[str], str] = str,
        owner_id: int | None = None,
    ) -> None:
        """`owner_id`: messages to an owner this account cannot reach yet wait (RetryLater)
        instead of failing; the owner's first message to the account makes them reachable."""
        self._client = client
        self._sent_log = sent_log
        self._mask = mask  # masks secrets in every text sent
        self._owner_id = owner_id
        self._learned_at: float | None = None  # loop time of the last look through dialogs
        self._me_id: int | None = None
        self._drafts = ChatDrafts(invoke=self._invoke)

    async def send(self, message: OutboundMessage, /) -> SentRef:
        body = body_of(message, self._mask)  # a reply may quote `env`: secrets masked
        if message.as_draft:  # kept in the chat for the owner: nothing is sent
            try:
                return await self._drafts.save(await self._peer(message.chat_id), message, body)
            except errors.RPCError as exc:
                raise _mapped(exc, message.chat_id) from exc
        async with self._sent_log.sending(message.chat_id):
            peer = await self._peer(message.chat_id)
            if message.kind == "text":
                chunks = text_chunks(body)
                if not chunks:
                    raise TelegramError(f"Nothing to send to chat {message.chat_id}: empty text.")
                if message.edit_of is not None and await self._edit(peer, message, chunks[0]):
                    rest = await self._send_chunks(peer, message, chunks[1:], first_index=1)
                    return _sent_ref(message.chat_id, [message.edit_of, *rest.msg_ids])
                return await self._send_chunks(peer, message, chunks, first_index=0)
            return await self._send_file(peer, message, body)

    def expect(self, message: OutboundMessage, /) -> None:
        """A row whose send may have reached Telegram before a crash: if its messages come
        back (catch-up after the restart), they are known as Jobs' own by their text."""
        body = body_of(message, self._mask)
        if message.kind == "text":
            chunks = text_chunks(body)
        else:
            caption, rest = caption_parts(body)
            chunks = [caption, *rest]
        for chunk in chunks:
            self._sent_log.expect(message.chat_id, chunk.text)

    async def draft(self, chat_id: int, random_id: int, text: str, /) -> bool:
        if chat_id == await self._self_id():
            return False  # Saved Messages: nobody else is in the chat to show a draft to
        try:
            peer = await self._client.get_input_entity(chat_id)
            shown = types.TextWithEntities(text=self._mask(text), entities=[])
            action = types.SendMessageTextDraftAction(text=shown, random_id=random_id)
            await self._client(functions.messages.SetTypingRequest(peer=peer, action=action))
        except (errors.RPCError, ValueError, OSError) as exc:
            logger.debug("No draft in chat %s: %s", chat_id, exc)
            return False
        return True

    async def preview(self, chat_id: int, text: str, /, *, msg_id: int | None = None) -> int | None:
        shown = self._mask(text)
        while utf16_len(shown) > MESSAGE_LIMIT:  # emoji count twice
            shown = shown[: len(shown) * 9 // 10]
        try:
            async with self._sent_log.sending(chat_id):
                peer = await self._peer(chat_id)  # as the reply itself will be sent
                if msg_id is not None:
                    request: Any = functions.messages.EditMessageRequest(
                        peer=peer, id=msg_id, message=shown, no_webpage=True
                    )
                    await self._invoke(request)
                    return msg_id
                rid = secrets.randbelow(_RANDOM_ID_SPAN) + 1
                self._sent_log.expect(chat_id, shown)
                result = await self._invoke(
                    functions.messages.SendMessageRequest(
                        peer=peer, message=shown, random_id=rid, no_webpage=True
                    )
                )
        except errors.MessageNotModifiedError:
            return msg_id
        except (errors.RPCError, ValueError, OSError, JobsError) as exc:
            logger.debug("No preview in chat %s: %s", chat_id, exc)
            return None
        sent = _sent_id(result, rid)
        if sent is not None:
            self._sent_log.add(chat_id, sent, text=shown)
        return sent

    async def _self_id(self) -> int:
        if self._me_id is None:
            me = await self._client.get_me(input_peer=True)
            self._me_id = int(me.user_id)
        return self._me_id

    async def typing(self, chat_id: int, /) -> None:
        if chat_id == await self._self_id():
            return  # Saved Messages: Telegram shows nobody typing there (the reply streams)
        try:
            peer = await self._client.get_input_entity(chat_id)
            action = types.SendMessageTypingAction()
            await self._client(functions.messages.SetTypingRequest(peer=peer, action=action))
        except (errors.RPCError, ValueError, OSError) as exc:
            logger.debug("Typing in chat %s failed: %s", chat_id, exc)

    async def acknowledge(self, chat_id: int, msg_id: int, /) -> None:
        try:
            peer = await self._client.get_input_entity(chat_id)
            reaction = [types.ReactionEmoji(emoticon="👀")]
            await self._client(
                functions.messages.SendReactionRequest(peer=peer, msg_id=msg_id, reaction=reaction)
            )
        except (errors.RPCError, ValueError, OSError) as exc:
            logger.debug("Reacting to message %s in chat %s failed: %s", msg_id, chat_id, exc)

    # -- sending ----------------------------------------------------------------------------

    async def _peer(self, chat_id: int) -> Any:
        now = asyncio.get_running_loop().time()
        learn = self._learned_at is None or now - self._learned_at >= _LEARN_EVERY
        peer = await find_peer(self._client, chat_id, learn=learn)
        if peer is not None:
            return peer
        if learn:
            self._learned_at = now
        if chat_id == self._owner_id:
            raise RetryLater(_OWNER_WAIT, OWNER_UNREACHABLE)
        raise TelegramError(
            f"Cannot send to chat {chat_id}: this account has never seen it "
            "(no access hash); the person must write first or be resolved by username."
        )

    async def _send_chunks(
        self, peer: Any, message: OutboundMessage, chunks: list[Chunk], *, first_index: int
    ) -> SentRef:
        base = message.random_id or secrets.randbelow(_RANDOM_ID_SPAN) + 1
        ids: list[int | None] = []
        for index, chunk in enumerate(chunks, start=first_index):
            reply_to = _reply_header(message.reply_to) if index == 0 else None
            random_id = derive_random_id(base, index)

            def make(c: Chunk, rid: int = random_id, rt: Any = reply_to) -> Any:
                return functions.messages.SendMessageRequest(
                    peer=peer,
                    message=c.text,
                    random_id=rid,
                    reply_to=rt,
                    entities=to_telethon(c.entities) or None,
                    no_webpage=not message.link_preview,
                )

            ids.append(await self._deliver(make, chunk, message.chat_id, random_id))
        return _sent_ref(message.chat_id, ids)

    async def _edit(self, peer: Any, message: OutboundMessage, chunk: Chunk) -> bool:
        """The reply's first chunk into the message it was streamed into; False when that
        message is gone (deleted meanwhile): then the reply is sent as a new message."""
        request = functions.messages.EditMessageRequest(
            peer=peer,
            id=message.edit_of,
            message=chunk.text,
            entities=to_telethon(chunk.entities) or [],
            no_webpage=not message.link_preview,
        )
        try:
            await self._invoke(request)
        except errors.MessageNotModifiedError:
            return True  # sent before a restart: it already says this
        except (errors.MessageIdInvalidError, errors.MessageEditTimeExpiredError) as exc:
            logger.info("The streamed reply's message %s is gone (%s)", message.edit_of, exc)
            return False
        except errors.RPCError as exc:
            if not chunk.entities or not _is_entity_error(exc):
                raise _mapped(exc, message.chat_id) from exc
            return await self._edit(peer, message, FormattedText(chunk.text))
        return True

    async def _send_file(self, peer: Any, message: OutboundMessage, body: Chunk) -> SentRef:
        path = _existing_file(message.file_path)
        caption, rest = caption_parts(body)
        base = message.random_id or secrets.randbelow(_RANDOM_ID_SPAN) + 1
        random_id = derive_random_id(base, 0)
        try:
            handle = await self._client.upload_file(str(path))
        except errors.RPCError as exc:
            raise _mapped(exc, message.chat_id) from exc
        except ConnectionError as exc:
            raise RetryLater(_TRANSIENT_WAIT, f"Telegram is not connected ({exc}).") from exc
        media = _input_media(handle, path, photo=message.kind == "photo")

        def make(c: Chunk) -> Any:
            return functions.messages.SendMediaRequest(
                peer=peer,
                media=media,
                message=c.text,
                random_id=random_id,
                reply_to=_reply_header(message.reply_to),
                entities=to_telethon(c.entities) or None,
            )

        first = await self._deliver(make, caption, message.chat_id, random_id)
        if not rest:
            return _sent_ref(message.chat_id, [first])
        more = await self._send_chunks(peer, replace(message, random_id=base), rest, first_index=1)
        return _sent_ref(message.chat_id, [first, None if more.duplicate else more.msg_id])

    async def _deliver(
        self, make: MakeRequest, chunk: Chunk, chat_id: int, rid: int, *, expected: bool = False
    ) -> int | None:
        """Send one chunk; its message id, or None if Telegram already had it (same random_id)."""
        if not expected:
            self._sent_log.expect(chat_id, chunk.text)  # until its id is known
        try:
            result = await self._invoke(make(chunk))
        except errors.RandomIdDuplicateError:
            return None
        except errors.RPCError as exc:
            if not chunk.entities or not _is_entity_error(exc):
                raise _mapped(exc, chat_id) from exc
            logger.warning("Telegram refused the formatting (%s); sending plain text", exc)
            plain = FormattedText(chunk.text)
            return await self._deliver(make, plain, chat_id, rid, expected=True)
        msg_id = _sent_id(result, rid)
        if msg_id is not None:
            self._sent_log.add(chat_id, msg_id, text=chunk.text)
        return msg_id

    async def _invoke(self, request: Any) -> Any:
        """Send through the MTProto sender, not `client(request)`.

        RANDOM_ID_DUPLICATE is a 500, and TelegramClient's call loop retries 500s five times
        with 2 s sleeps and then raises a bare ValueError (measured: 12 s per duplicate).
        """
        try:
            result = await self._client._sender.send(request)
        except ConnectionError as exc:
            raise RetryLater(_TRANSIENT_WAIT, f"Telegram is not connected ({exc}).") from exc
        self._client.session.process_entities(result)
        return result


def _existing_file(file_path: str | None) -> Path:
    path = Path(file_path or "")
    if not file_path or not path.is_file():
        raise TelegramError(f"The file to send does not exist: {file_path or '(no path)'}")
    return path


def _reply_header(reply_to: int | None) -> Any:
    return types.InputReplyToMessage(reply_to_msg_id=reply_to) if reply_to else None


def _input_media(handle: Any, path: Path, *, photo: bool) -> Any:
    if photo:
        return types.InputMediaUploadedPhoto(file=handle)
    attributes, mime_type = utils.get_attributes(str(path))
    return types.InputMediaUploadedDocument(
        file=handle, mime_type=mime_type, attributes=attributes, force_file=True
    )


def _sent_id(result: Any, random_id: int) -> int | None:
    """The new message's id from a send's answer (short form or an Updates container)."""
    if isinstance(result, types.UpdateShortSentMessage):
        return int(result.id)
    updates = getattr(result, "updates", None) or [getattr(result, "update", None)]
    for upd in updates:
        if isinstance(upd, types.UpdateMessageID) and upd.random_id == random_id:
            return int(upd.id)
    for upd in updates:
        if isinstance(upd, types.UpdateNewMessage | types.UpdateNewChannelMessage):
            return int(upd.message.id)
    return None


def _sent_ref(chat_id: int, ids: list[int | None]) -> SentRef:
    known = [i for i in ids if i is not None]
    return SentRef(
        chat_id=chat_id,
        msg_id=known[0] if known else 0,
        duplicate=not known,
        msg_ids=tuple(known),
    )


def _error_name(exc: errors.RPCError) -> str:
    return _ERROR_NAMES.get(type(exc)) or str(exc.message)


def _is_entity_error(exc: errors.RPCError) -> bool:
    name = _error_name(exc)
    return name.startswith(("ENTITY_", "ENTITIES_")) or name in _EXTRA_ENTITY_ERRORS


def _mapped(exc: errors.RPCError, chat_id: int) -> TelegramError:
    """A Telethon RPC error as the JobsError the delivery loop acts on."""
    if isinstance(exc, errors.FloodError):
        seconds = float(getattr(exc, "seconds", None) or _TRANSIENT_WAIT)
        return RetryLater(seconds)
    if isinstance(exc, errors.ServerError | errors.TimedOutError | errors.RpcCallFailError):
        return RetryLater(_TRANSIENT_WAIT, f"Telegram had an internal error ({exc}).")
    name = _error_name(exc)
    hint = _HINTS.get(name, "Telegram refused the request")
    return TelegramError(f"Cannot send to chat {chat_id}: {hint} ({name}).")
