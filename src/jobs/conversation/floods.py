"""FloodNotices: the owner is told once when Telegram holds back the messages to a chat for long."""

from __future__ import annotations

import logging
from datetime import timedelta

from jobs.conversation.untrusted import one_line
from jobs.i18n.speakers import OwnerWords, english_words
from jobs.i18n.translator import Translator, english
from jobs.messages import OutboundMessage
from jobs.richtext import RichText
from jobs.storage.outbox import OutboxRepo
from jobs.storage.people import PeopleRepo

logger = logging.getLogger(__name__)

NOTICE_AFTER = timedelta(minutes=5)
"""Shorter waits pass unnoticed: the reply is only a little late."""


def about(wait: timedelta, t: Translator | None = None) -> str:
    """A wait as a person says it: "about 60 min", "about 3 h"."""
    t = t or english()
    minutes = max(1, round(wait.total_seconds() / 60))
    if minutes < 120:
        return t.gettext("about {n} min", n=minutes)
    return t.gettext("about {n} h", n=round(minutes / 60))


class FloodNotices:
    """Tells the owner, once per chat and flood, that Telegram asked Jobs to wait long before
    writing there again, and that the messages wait in the outbox (they are not lost).

    A flood ends when a message reaches that chat or is given up (`over`); the next long wait
    for it is told again. When the owner's own chat is the one held back, it is only logged:
    a notice could not reach them before the wait is over either.
    """

    def __init__(
        self,
        *,
        outbox: OutboxRepo,
        owner_chat: int | None,
        people: PeopleRepo | None = None,
        after: timedelta = NOTICE_AFTER,
        words: OwnerWords | None = None,
    ) -> None:
        """`owner_chat` None: nobody to tell (`jobs chat`, whose rows never meet a flood)."""
        self._words = words or english_words
        self._outbox = outbox
        self._owner_chat = owner_chat
        self._people = people
        self._after = after
        self._told: set[int] = set()  # chats whose current flood is already told (or logged)

    async def held(self, chat_id: int, wait: timedelta) -> bool:
        """Telegram asked to wait `wait` before writing to `chat_id`; True if the owner was told
        now (their notice is in the outbox)."""
        if self._owner_chat is None or wait < self._after or chat_id in self._told:
            return False
        if chat_id == self._owner_chat:
            self._told.add(chat_id)
            logger.warning(
                "Telegram asks to wait %s before writing to the owner's chat again; "
                "the messages for it wait in the outbox until then",
                about(wait),
            )
            return False
        t = await self._words()
        notice = RichText().text(
            t.gettext("Telegram asked me to wait {wait} before I write to ", wait=about(wait, t))
        )
        notice.plain(await self._who(chat_id)).text(
            t.gettext(
                " again. My messages to them are queued, not lost: they go out when the wait is "
                "over."
            )
        )
        message = OutboundMessage.formatted(self._owner_chat, notice.build())
        await self._outbox.enqueue([message])
        self._told.add(chat_id)  # only once stored: a failed write is told at the next refusal
        logger.info("Told the owner that chat %s is held back for %s", chat_id, about(wait))
        return True

    def over(self, chat_id: int) -> None:
        """A message to `chat_id` was sent (or given up): its flood, if any, is over."""
        self._told.discard(chat_id)

    async def _who(self, chat_id: int) -> str:
        person = await self._people.get(chat_id) if self._people is not None else None
        if person is None:
            return f"chat {chat_id}"
        # The name is theirs: plain text in the notice, never formatting or links.
        name = one_line(person.display_name) or f"user {chat_id}"
        username = one_line(person.username)
        return f"{name} (@{username})" if username else name
