"""The loopback seam: an untouched Telethon client talks MTProto to the fake over 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient, errors, events
from telethon.sessions import StringSession
from telethon.tl import functions

from jobs.config import load_settings
from jobs.telegram.client import connect_authorised, make_client
from tests.chaos.conftest import wait_until
from tests.fakes.loopback import MTProtoLoopback
from tests.fakes.telegram import API_HASH, API_ID, FakeTelegram, reply_to_msg_id

FRIEND = 111


@pytest.fixture
async def loopback(tg: FakeTelegram) -> AsyncIterator[MTProtoLoopback]:
    async with MTProtoLoopback(tg) as server:
        yield server


async def test_untouched_client_logs_in_receives_and_replies(
    tg: FakeTelegram, loopback: MTProtoLoopback
) -> None:
    client = TelegramClient(StringSession(loopback.session_string()), API_ID, API_HASH)
    seen: list[str] = []

    async def on_private(event: Any) -> None:
        seen.append(event.raw_text)
        await event.reply(f"echo: {event.raw_text}")

    client.add_event_handler(on_private, events.NewMessage(incoming=True))
    await client.connect()
    try:
        assert await client.is_user_authorized()
        me = await client.get_me()
        assert (me.id, me.username) == (1000, "me")
        msg = tg.incoming(FRIEND, "hello")
        req = await tg.wait_for(functions.messages.SendMessageRequest)
        assert (req.peer.user_id, req.message, reply_to_msg_id(req)) == (
            FRIEND,
            "echo: hello",
            msg.id,
        )
        assert seen == ["hello"]
    finally:
        await client.disconnect()
    assert not tg.handler_errors


async def test_held_request_does_not_block_other_traffic_and_errors_arrive(
    tg: FakeTelegram, loopback: MTProtoLoopback
) -> None:
    release = asyncio.Event()

    async def held(req: Any) -> bool:
        await release.wait()
        return True

    tg.handle(functions.account.UpdateStatusRequest, held)
    tg.fail(functions.users.GetFullUserRequest, "USER_ID_INVALID")
    client = TelegramClient(loopback.session(), API_ID, API_HASH)
    await client.connect()
    try:
        slow = asyncio.create_task(client(functions.account.UpdateStatusRequest(offline=False)))
        await tg.wait_for(functions.account.UpdateStatusRequest)
        assert (await client.get_me()).id == 1000  # answered while the other one waits
        with pytest.raises(errors.UserIdInvalidError):
            await client(functions.users.GetFullUserRequest(id="me"))
        release.set()
        assert await slow is True
    finally:
        await client.disconnect()


async def test_client_reconnects_after_the_server_drops_it(
    tg: FakeTelegram, loopback: MTProtoLoopback
) -> None:
    client = TelegramClient(loopback.session(), API_ID, API_HASH)
    await client.connect()
    try:
        await client.get_me()
        loopback.drop()
        await wait_until(lambda: loopback.live, what="a reconnect", within=10)
        assert (await client.get_me()).id == 1000
    finally:
        await client.disconnect()


async def test_jobs_imports_the_session_string_and_logs_in(
    tmp_path: Path, tg: FakeTelegram, loopback: MTProtoLoopback
) -> None:
    settings = load_settings(
        None,
        tg_api_id=API_ID,
        tg_api_hash=API_HASH,
        tg_user_id=1000,
        tg_session=loopback.session_string(),
        data_dir=tmp_path / "data",
    )
    client = make_client(settings)
    try:
        account = await connect_authorised(client, settings)
    finally:
        await client.disconnect()
    assert (account.user_id, account.is_owner_account) == (1000, True)
    assert (tmp_path / "data" / "telethon.session").is_file()


async def test_unknown_request_is_a_400_and_recorded(
    tg: FakeTelegram, loopback: MTProtoLoopback
) -> None:
    client = TelegramClient(loopback.session(), API_ID, API_HASH)
    await client.connect()
    try:
        with pytest.raises(errors.RPCError, match="TGFAKE_GetNearestDcRequest"):
            await client(functions.help.GetNearestDcRequest())
    finally:
        await client.disconnect()
    assert isinstance(tg.handler_errors.pop(), NotImplementedError)
