"""A dedicated account and its owner: found in contacts or dialogs at start, one clear warning
when it has never met them, their messages waiting (not failed) until it has, and what the
session file says for `jobs doctor`. Real Telethon on the fake Telegram."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telethon import TelegramClient
from telethon.tl import functions

from jobs.config import Settings, load_settings
from jobs.errors import RetryLater, TelegramError
from jobs.messages import OutboundMessage
from jobs.telegram.client import (
    OWNER_UNREACHABLE,
    OwnerPeer,
    connect_authorised,
    make_client,
    owner_peer_on_disk,
)
from jobs.telegram.inbound import SentLog
from jobs.telegram.outbound import TelegramChannel
from tests.fakes.telegram import API_HASH, API_ID, FakeTelegram

ME, OWNER, ALICE = 1000, 2000, 111


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TG_API_ID", "TG_API_HASH", "TG_USER_ID", "TG_SESSION", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path: Path, owner: int = OWNER) -> Settings:
    """A session file under DATA_DIR; the fake Telegram logs it in."""
    return load_settings(
        None,
        tg_api_id=API_ID,
        tg_api_hash=API_HASH,
        tg_user_id=owner,
        data_dir=tmp_path / "data",
    )


@pytest.fixture
async def client(tmp_path: Path, tg: FakeTelegram) -> AsyncIterator[TelegramClient]:
    made = tg.attach(make_client(settings(tmp_path)))
    try:
        yield made
    finally:
        await made.disconnect()


def owner_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if OWNER_UNREACHABLE in r.getMessage()]


async def test_an_owner_never_met_is_one_clear_warning_at_start(
    tmp_path: Path, tg: FakeTelegram, client: TelegramClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="jobs.telegram.client"):
        account = await connect_authorised(client, settings(tmp_path))
    assert (account.is_owner_account, account.owner_reachable) == (False, False)
    [warning] = owner_warnings(caplog)
    assert "write any message to this account once" in warning
    assert f"Assistant account id {ME}, owner id {OWNER}" in warning
    assert tg.of(functions.contacts.GetContactsRequest, functions.messages.GetDialogsRequest)


@pytest.mark.parametrize("where", ["contacts", "dialogs"])
async def test_an_owner_in_contacts_or_dialogs_is_found_at_start(
    tmp_path: Path,
    tg: FakeTelegram,
    client: TelegramClient,
    caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:
    tg.add_user(OWNER, "Olga", contact=where == "contacts")
    if where == "dialogs":
        tg.incoming(OWNER, "an old message", deliver=False)  # talked before this session
    with caplog.at_level(logging.WARNING, logger="jobs.telegram.client"):
        account = await connect_authorised(client, settings(tmp_path))
    assert account.owner_reachable
    assert owner_warnings(caplog) == []
    assert (await client.get_input_entity(OWNER)).user_id == OWNER


async def test_the_owners_own_account_looks_nothing_up(tmp_path: Path, tg: FakeTelegram) -> None:
    own = settings(tmp_path, owner=ME)
    client = tg.attach(make_client(own))
    try:
        account = await connect_authorised(client, own)
    finally:
        await client.disconnect()
    assert account.is_owner_account and account.owner_reachable
    assert not tg.of(functions.contacts.GetContactsRequest)


async def test_messages_to_an_unreachable_owner_wait_until_the_owner_writes(
    tmp_path: Path, tg: FakeTelegram, client: TelegramClient
) -> None:
    await connect_authorised(client, settings(tmp_path))
    channel = TelegramChannel(client=client, sent_log=SentLog(), owner_id=OWNER)
    with pytest.raises(RetryLater) as waiting:
        await channel.send(OutboundMessage(chat_id=OWNER, text="Alice wrote to you"))
    assert str(waiting.value) == OWNER_UNREACHABLE and waiting.value.seconds == 30
    with pytest.raises(TelegramError, match="never seen it") as refused:
        await channel.send(OutboundMessage(chat_id=ALICE, text="hello"))
    assert not isinstance(refused.value, RetryLater)  # anyone else: failed, as before

    tg.incoming(OWNER, "hi, it's me")  # the owner's first message: now they are met
    await tg.idle()
    sent = await channel.send(OutboundMessage(chat_id=OWNER, text="Alice wrote to you"))
    assert sent.msg_id and [m.message for m in tg.outbox] == ["Alice wrote to you"]


async def test_contacts_and_dialogs_are_looked_through_at_most_every_five_minutes(
    tmp_path: Path, tg: FakeTelegram, client: TelegramClient
) -> None:
    await client.connect()
    channel = TelegramChannel(client=client, sent_log=SentLog(), owner_id=OWNER)
    for _ in range(3):
        with pytest.raises(RetryLater):
            await channel.send(OutboundMessage(chat_id=OWNER, text="later"))
    assert len(tg.of(functions.messages.GetDialogsRequest)) == 1


async def test_the_session_file_says_whether_the_owner_was_met(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    dedicated = settings(tmp_path)
    assert owner_peer_on_disk(dedicated) == (OwnerPeer.NOT_YET, None)  # never run

    client = tg.attach(make_client(dedicated))
    await connect_authorised(client, dedicated)
    await client.disconnect()  # Telethon saves who it is and whom it met
    assert owner_peer_on_disk(dedicated) == (OwnerPeer.UNKNOWN, ME)

    client = tg.attach(make_client(dedicated))
    await connect_authorised(client, dedicated)
    tg.incoming(OWNER, "hi, it's me")
    await tg.idle()
    await client.disconnect()
    assert owner_peer_on_disk(dedicated) == (OwnerPeer.KNOWN, ME)
    assert owner_peer_on_disk(settings(tmp_path, owner=ME)) == (OwnerPeer.OWN_ACCOUNT, ME)
