"""ChatDrafts: an answer saved as the chat's Telegram draft (messages.saveDraft) instead of sent.

The owner chose drafts for this person: the answer waits in the chat's input field on every
device of the owner's, who sends, edits or discards it. Nothing is sent, so nobody is written
to. A draft already there (an earlier answer not sent yet, or the owner's own words) is kept
and the answer joins it below; one that already holds the answer (the row was tried before a
restart) is left alone: an outbox row becomes a draft once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from telethon.tl import functions, types

from jobs.messages import MESSAGE_LIMIT, OutboundMessage, SentRef
from jobs.richtext import FormattedText, utf16_len
from jobs.telegram.formatting import to_telethon
from jobs.telegram.rendering import text_chunks

logger = logging.getLogger(__name__)

Invoke = Callable[[Any], Awaitable[Any]]
SEPARATOR: Final = "\n\n"
CUT: Final = "\n[…]"


class ChatDrafts:
    """Saves answers as drafts through `invoke` (TelegramChannel's MTProto call)."""

    def __init__(self, *, invoke: Invoke) -> None:
        self._invoke = invoke

    async def save(self, peer: Any, message: OutboundMessage, body: FormattedText) -> SentRef:
        """Save `body` as the chat's draft (joining one there); no message id: none was made."""
        answer = _one_message(body)
        current = await self._current(peer)
        text, entities = answer.text, to_telethon(answer.entities)
        reply_to = message.reply_to
        if current is not None and current.message.strip():
            if answer.text.strip() in current.message:
                return SentRef(message.chat_id, 0, duplicate=True)  # saved before a restart
            joined = current.message + SEPARATOR + answer.text
            if utf16_len(joined) <= MESSAGE_LIMIT:
                shift = utf16_len(current.message + SEPARATOR)
                for entity in entities:
                    entity.offset += shift
                text, entities = joined, [*(current.entities or []), *entities]
                reply_to = getattr(current.reply_to, "reply_to_msg_id", None) or reply_to
            else:
                logger.warning("The draft in chat %s is full: the new answer replaces it", peer)
        await self._invoke(
            functions.messages.SaveDraftRequest(
                peer=peer,
                message=text,
                entities=entities or None,
                reply_to=types.InputReplyToMessage(reply_to_msg_id=reply_to) if reply_to else None,
                no_webpage=True,  # a draft's link preview is fetched by Telegram's servers too
            )
        )
        return SentRef(message.chat_id, 0)

    async def _current(self, peer: Any) -> Any:
        """The chat's draft now (None: there is none)."""
        result = await self._invoke(
            functions.messages.GetPeerDialogsRequest(peers=[types.InputDialogPeer(peer=peer)])
        )
        for dialog in getattr(result, "dialogs", []):
            draft = getattr(dialog, "draft", None)
            if isinstance(draft, types.DraftMessage):
                return draft
        return None


def _one_message(body: FormattedText) -> FormattedText:
    """A draft holds one message: a longer answer is cut, and says so."""
    chunks = text_chunks(body)
    if len(chunks) <= 1:
        return chunks[0] if chunks else FormattedText("")
    text, room = chunks[0].text, MESSAGE_LIMIT - utf16_len(CUT)
    while (excess := utf16_len(text) - room) > 0:
        text = text[:-excess]  # a character is one or two units: at most two rounds
    kept = tuple(e for e in chunks[0].entities if e.offset + e.length <= utf16_len(text))
    return FormattedText(text + CUT, kept)
