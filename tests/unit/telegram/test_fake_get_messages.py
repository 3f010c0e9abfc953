"""The fake Telegram answers messages.getMessages / channels.getMessages like Telegram: a
MessageEmpty where a message does not exist, never an error (Telethon gives None for it)."""

from __future__ import annotations

from telethon import TelegramClient
from telethon.tl import functions, types

from tests.fakes.telegram import FakeTelegram

ALICE, GROUP = 111, 60


async def test_unknown_ids_come_back_empty_in_a_private_chat(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    tg.seed(tg_client, tg.user(ALICE))
    hello = tg.incoming(ALICE, "hello")
    answer = tg.incoming(ALICE, "about that", reply_to=hello.id)
    await tg.idle()

    got = await tg_client.get_messages(ALICE, ids=[hello.id, 999, answer.id])
    assert [m and m.message for m in got] == ["hello", None, "about that"]
    deleted = await tg_client.get_messages(ALICE, ids=999)
    assert deleted is None

    raw = await tg_client(
        functions.messages.GetMessagesRequest(
            id=[
                types.InputMessageReplyTo(id=answer.id),  # → the message it replies to
                types.InputMessageReplyTo(id=hello.id),  # replies to nothing
                types.InputMessagePinned(),  # nothing pinned
            ]
        )
    )
    assert [type(m).__name__ for m in raw.messages] == [
        "Message",
        "MessageEmpty",
        "MessageEmpty",
    ]
    assert raw.messages[0].id == hello.id


async def test_unknown_ids_come_back_empty_in_a_channel(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    group = tg.add_channel(GROUP, "Neighbours", megagroup=True)
    tg.seed(tg_client, group)
    post = tg.incoming(ALICE, "anyone home?", chat=GROUP)
    await tg.idle()

    got = await tg_client.get_messages(group, ids=[post.id, post.id + 50])
    assert [m and m.message for m in got] == ["anyone home?", None]
