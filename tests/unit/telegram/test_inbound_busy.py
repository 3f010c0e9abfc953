"""telegram/inbound.py storing messages while another program locks the database: each is
stored once the lock goes, in arrival order; only stopping Jobs gives up (and says so)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from telethon import TelegramClient

from jobs.messages import InboundMessage
from jobs.storage import Database, InboxRepo
from jobs.storage.busy import BusyPolicy
from jobs.telegram.inbound import SentLog, TelegramInbound
from tests.chaos.conftest import wait_until
from tests.unit.db_locks import locked

OWNER = 1000


@pytest.fixture
def db(quick_db: Database) -> Database:
    return quick_db


def inbound(client: TelegramClient, db: Database, *, first: float = 0.01) -> TelegramInbound:
    return TelegramInbound(
        client=client,
        owner_id=OWNER,
        on_message=InboxRepo(db).add,
        sent_log=SentLog(),
        busy=BusyPolicy(first=first, longest=first),
    )


def message(msg_id: int, text: str) -> InboundMessage:
    return InboundMessage(chat_id=OWNER, msg_id=msg_id, sender_id=OWNER, text=text)


async def stored(db: Database) -> list[str]:
    return [str(row["text"]) for row in await db.fetch_all("SELECT text FROM inbox ORDER BY id")]


def said(caplog: pytest.LogCaptureFixture, level: str, part: str) -> bool:
    return any(r.levelname == level and part in r.getMessage() for r in caplog.records)


async def test_a_message_is_stored_once_the_lock_goes(
    tg_client: TelegramClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jobs.storage.busy")
    handler = inbound(tg_client, db)
    with locked(db.path) as other:
        storing = asyncio.create_task(handler.store(message(7, "hello")))
        await wait_until(lambda: said(caplog, "WARNING", "Storing message 7"), what="a retry")
        assert not storing.done()
        other.execute("ROLLBACK")
        await asyncio.wait_for(storing, 10)
    assert await stored(db) == ["hello"]
    assert said(caplog, "INFO", "Storing message 7 in chat 1000: done")


async def test_a_newer_message_does_not_overtake_one_waiting_for_the_lock(
    tg_client: TelegramClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    handler = inbound(tg_client, db, first=0.5)  # the first one sleeps when the lock goes
    with locked(db.path) as other:
        first = asyncio.create_task(handler.store(message(1, "first")))
        await wait_until(lambda: said(caplog, "WARNING", "Storing message 1"), what="a retry")
        second = asyncio.create_task(handler.store(message(2, "second")))
        await asyncio.sleep(0)  # it starts, and waits behind the first
        other.execute("ROLLBACK")
        await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert await stored(db) == ["first", "second"]


async def test_stopping_while_the_database_is_locked_says_what_was_lost(
    tg_client: TelegramClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    handler = inbound(tg_client, db)
    with locked(db.path):
        storing = asyncio.create_task(handler.store(message(9, "lost")))
        queued = asyncio.create_task(handler.store(message(10, "behind it")))
        await wait_until(lambda: said(caplog, "WARNING", "Storing message 9"), what="a retry")
        storing.cancel()
        queued.cancel()
        await asyncio.gather(storing, queued, return_exceptions=True)
        # Still locked: an attempt already in SQLite's hands fails (were the lock gone by
        # now, it could still succeed: hence "may be lost").
        assert await stored(db) == []
    assert storing.cancelled() and queued.cancelled()
    for msg_id in (9, 10):
        assert said(
            caplog, "ERROR", f"Jobs stopped while message {msg_id} in chat 1000 (from 1000) waited"
        )


async def test_without_a_lock_storing_says_nothing(
    tg_client: TelegramClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="jobs.storage.busy"):
        await inbound(tg_client, db).store(message(3, "plain"))
    assert await stored(db) == ["plain"]
    assert [r for r in caplog.records if r.name == "jobs.storage.busy"] == []
