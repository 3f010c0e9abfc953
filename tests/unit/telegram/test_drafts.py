"""TelegramChannel with drafts: an answer saved as the chat's draft (real Telethon on the fake
Telegram): formatted, joining a draft already there, not saved twice, cut to one message."""

from __future__ import annotations

from typing import Any

import pytest
from telethon import TelegramClient
from telethon.tl import functions, types

from jobs.errors import RetryLater, TelegramError
from jobs.messages import OutboundMessage
from jobs.telegram.drafts import CUT
from jobs.telegram.inbound import SentLog
from jobs.telegram.outbound import TelegramChannel
from tests.fakes.telegram import FakeTelegram

ANNA = 42


@pytest.fixture
def channel(tg: FakeTelegram, tg_client: TelegramClient) -> TelegramChannel:
    tg.seed(tg_client, tg.add_user(ANNA, "Anna"))
    return TelegramChannel(client=tg_client, sent_log=SentLog())


def draft(text: str, reply_to: int | None = None) -> OutboundMessage:
    return OutboundMessage(ANNA, text, as_draft=True, reply_to=reply_to)


def saves(tg: FakeTelegram) -> list[Any]:
    return tg.of(functions.messages.SaveDraftRequest)


async def test_an_answer_becomes_the_chats_draft_and_nothing_is_sent(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    ref = await channel.send(draft("See you **Friday**", reply_to=7))
    assert (ref.msg_id, ref.duplicate) == (0, False)
    [saved] = saves(tg)
    assert saved.message == "See you Friday" and saved.no_webpage
    assert [type(e) for e in saved.entities] == [types.MessageEntityBold]
    assert saved.reply_to.reply_to_msg_id == 7
    assert tg.outbox == [] and not tg.of(functions.messages.SendMessageRequest)


async def test_a_second_answer_joins_and_a_repeat_is_not_saved_twice(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.send(draft("First **one**.", reply_to=7))
    await channel.send(draft("Second **one**.", reply_to=9))
    held = tg.drafts[ANNA]
    assert held.message == "First one.\n\nSecond one."
    assert [(e.offset, e.length) for e in held.entities] == [(6, 3), (19, 3)]
    assert held.reply_to.reply_to_msg_id == 7  # the first answer's message
    again = await channel.send(draft("Second **one**."))  # the row tried again after a crash
    assert again.duplicate and len(saves(tg)) == 2


async def test_the_owners_own_words_in_the_draft_are_kept(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    tg.drafts[ANNA] = types.DraftMessage(message="Dear Anna,", date=None)
    await channel.send(draft("the invoice is paid."))
    assert tg.drafts[ANNA].message == "Dear Anna,\n\nthe invoice is paid."


async def test_a_long_answer_is_cut_to_one_message_and_a_full_draft_replaced(
    tg: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.send(draft("word " * 2000))
    held = tg.drafts[ANNA].message
    assert held.endswith(CUT) and len(held) <= 4096
    await channel.send(draft("A short one."))
    assert tg.drafts[ANNA].message == "A short one."  # the old draft had no room left


async def test_refusals_are_mapped(tg: FakeTelegram, channel: TelegramChannel) -> None:
    tg.fail(functions.messages.SaveDraftRequest, "FLOOD_WAIT_30", code=420)
    with pytest.raises(RetryLater):
        await channel.send(draft("hi"))
    tg.fail(functions.messages.SaveDraftRequest, "USER_IS_BLOCKED")
    with pytest.raises(TelegramError, match="blocked this account"):
        await channel.send(draft("hi"))
