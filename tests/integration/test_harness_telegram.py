"""The Telegram harness: a real Telethon client on the fake sender behaves like Telegram."""

from __future__ import annotations

import random
from typing import Any

import pytest
from telethon import TelegramClient, errors, events, functions, types

from tests.fakes.telegram import ClientFactory, FakeTelegram, reply_to_msg_id

FRIEND, CHANNEL = 111, 1234567890
MARKED_CHANNEL = -(10**12 + CHANNEL)


async def test_private_message_fires_handler_and_reply_is_captured(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    seen: list[str] = []

    async def on_private(event: Any) -> None:
        seen.append(event.raw_text)
        await event.reply(f"echo: {event.raw_text}")

    # add_event_handler, not @client.on: Telethon is untyped and mypy rejects untyped decorators
    tg_client.add_event_handler(
        on_private, events.NewMessage(incoming=True, func=lambda e: e.is_private)
    )

    msg = tg.incoming(FRIEND, "hello")
    await tg.idle()

    assert seen == ["hello"]
    [req] = tg.of(functions.messages.SendMessageRequest)
    assert req.peer.user_id == FRIEND
    assert req.message == "echo: hello"
    assert reply_to_msg_id(req) == msg.id
    [sent] = tg.outbox
    assert sent.peer_id == types.PeerUser(FRIEND)
    assert sent.reply_to.reply_to_msg_id == msg.id


async def test_channel_post_reaches_chats_handler_not_private_one(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    private: list[str] = []
    posts: list[str] = []

    async def on_private(event: Any) -> None:
        private.append(event.raw_text)

    async def on_post(event: Any) -> None:
        posts.append(event.raw_text)
        assert event.message.post

    tg_client.add_event_handler(
        on_private, events.NewMessage(incoming=True, func=lambda e: e.is_private)
    )
    tg_client.add_event_handler(on_post, events.NewMessage(chats=[MARKED_CHANNEL]))
    tg.add_channel(CHANNEL, "News")
    tg.channel_post(CHANNEL, "breaking")
    await tg.idle()

    assert posts == ["breaking"]
    assert private == []


async def test_send_with_a_used_random_id_is_refused(
    tg: FakeTelegram, tg_connect: ClientFactory
) -> None:
    # Telethon treats RANDOM_ID_DUPLICATE as a server error: it sleeps 2 s per retry and, unless
    # raise_last_call_error, ends with a bare ValueError. One attempt keeps this test at ~2 s.
    client = await tg_connect(request_retries=0, raise_last_call_error=True)
    peer = await client.get_input_entity(tg.me.id)  # self: always resolvable
    rid = random.randrange(2**62)
    await client(functions.messages.SendMessageRequest(peer, "once", random_id=rid))

    with pytest.raises(errors.RandomIdDuplicateError):
        await client(functions.messages.SendMessageRequest(peer, "twice", random_id=rid))

    assert [m.message for m in tg.outbox] == ["once"]
    await client(functions.messages.SendMessageRequest(peer, "new id", random_id=rid + 1))
    assert [m.message for m in tg.outbox] == ["once", "new id"]


async def test_flood_wait_surfaces_with_seconds(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    tg.fail(functions.messages.SendMessageRequest, "FLOOD_WAIT_30", code=420)

    with pytest.raises(errors.FloodWaitError) as caught:
        await tg_client.send_message("me", "x")

    assert caught.value.seconds == 30
    assert tg.outbox == []


async def test_handler_exception_is_reraised_by_idle(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    async def broken(event: Any) -> None:
        raise ValueError(f"boom on {event.raw_text}")

    tg_client.add_event_handler(broken, events.NewMessage(incoming=True))

    tg.incoming(FRIEND, "hi")

    with pytest.raises(ValueError, match="boom on hi"):
        await tg.idle()


async def test_reaction_typing_entities_and_send_message(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    tg.add_user(222, "Ann", username="ann")
    tg.add_user(333, "Bob", phone="15550001111", contact=True)
    msg = tg.incoming(FRIEND, "react to me")
    await tg.idle()

    ann = await tg_client.get_entity("ann")
    bob = await tg_client.get_entity("+15550001111")
    friend = await tg_client.get_entity(FRIEND)  # known from the incoming update
    assert (ann.id, bob.id, friend.id) == (222, 333, FRIEND)

    async with tg_client.action(FRIEND, "typing"):
        sent = await tg_client.send_message(FRIEND, "thinking done")
    await tg_client(
        functions.messages.SendReactionRequest(
            peer=FRIEND, msg_id=msg.id, reaction=[types.ReactionEmoji("👍")]
        )
    )
    await tg.idle()

    assert sent.id == tg.outbox[-1].id
    actions = [type(r.action) for r in tg.of(functions.messages.SetTypingRequest)]
    assert actions[0] is types.SendMessageTypingAction
    assert actions[-1] is types.SendMessageCancelAction
    [reaction] = tg.reactions
    assert (reaction.msg_id, reaction.reaction[0].emoticon) == (msg.id, "👍")


async def test_unknown_user_cannot_be_messaged(tg_client: TelegramClient) -> None:
    with pytest.raises(ValueError, match="Could not find the input entity"):
        await tg_client.send_message(424242, "who?")


async def test_two_clients_from_the_factory(tg: FakeTelegram, tg_connect: ClientFactory) -> None:
    first, second = await tg_connect(), await tg_connect()
    got: list[int] = []
    for client in (first, second):
        client.add_event_handler(
            lambda e: _append(got, e.chat_id), events.NewMessage(incoming=True)
        )

    tg.incoming(FRIEND, "both")
    await tg.idle()

    assert got == [FRIEND, FRIEND]


async def _append(sink: list[int], value: int) -> None:
    sink.append(value)


async def test_history_search_files_edits_round_trip(
    tg: FakeTelegram, tg_client: TelegramClient
) -> None:
    for i in range(5):
        tg.incoming(FRIEND, f"line {i}")
    await tg.idle()

    history = await tg_client.get_messages(FRIEND, limit=3)
    found = await tg_client.get_messages(FRIEND, search="line 3")
    sent = await tg_client.send_file(FRIEND, b"%PDF-fake", caption="doc", force_document=True)
    data = await tg_client.download_media(sent, file=bytes)
    edited = await tg_client.edit_message(FRIEND, sent.id, "doc v2")
    await tg_client.forward_messages("me", history[0])
    dialogs = await tg_client.get_dialogs()

    assert [m.raw_text for m in history] == ["line 4", "line 3", "line 2"]
    assert [m.raw_text for m in found] == ["line 3"]
    assert data == b"%PDF-fake"
    assert edited.raw_text == "doc v2"
    assert {d.id for d in dialogs} == {FRIEND, tg.me.id}
    await tg.idle()
