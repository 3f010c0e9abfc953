"""TelegramEraser: deletes a message for both sides of a private chat (a secret the owner sent)."""

from __future__ import annotations

import logging

from telethon import TelegramClient, errors

logger = logging.getLogger(__name__)


class TelegramEraser:
    """conversation.secret_intake.MessageEraser over the account's client."""

    def __init__(self, *, client: TelegramClient) -> None:
        self._client = client

    async def erase(self, chat_id: int, msg_id: int, /) -> bool:
        try:
            # revoke: gone for the other side too (in Saved Messages there is no other side).
            affected = await self._client.delete_messages(chat_id, [msg_id], revoke=True)
        except (errors.RPCError, ValueError, OSError) as exc:
            logger.warning("Could not delete message %s in chat %s: %s", msg_id, chat_id, exc)
            return False
        return bool(affected)
