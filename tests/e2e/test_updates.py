"""Updates as Telegram really hands them out: twice (live, then again in a difference), after a
pts gap, and in reverse msg_id order. Every message is answered exactly once.

In-process (the whole `jobs run` on the fake seam) rather than chaos subprocesses: the updates
are scripted update by update (pts, containers, getDifference answers) and every request is
seen where it happens; Telethon's update handling is the real one on either seam.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from typing import Any

from telethon.tl import functions, types

from jobs.telegram.client import session_file
from tests.e2e.conftest import Jobs, MakeJobs
from tests.fakes.telegram import FakeTelegram
from tests.fakes.tl import updates

ALICE = 111
GetDifference = functions.updates.GetDifferenceRequest
GetState = functions.updates.GetStateRequest
GetUsers = functions.users.GetUsersRequest


def replied_to(jobs: Jobs, chat_id: int) -> list[int]:
    return jobs.answered(chat_id)


def arrival_order(jobs: Jobs, chat_id: int) -> list[int]:
    """Message ids in the order they reached the inbox."""
    return [r["msg_id"] for r in jobs.inbox(chat_id)]


def asked(jobs: Jobs, text: str) -> int:
    """Model calls that were asked `text` (a turn's prompt, or a follow-up injected into it)."""
    return sum(text in call.last_user_text for call in jobs.model.calls)


def handed_out(tg: FakeTelegram, *, newest_first: bool = False) -> list[int]:
    """Records the ids of the messages each getDifference hands out (newest first, if asked)."""
    original = tg._handlers[GetDifference]
    ids: list[int] = []

    def answer(request: Any) -> Any:
        diff = original(request)
        if isinstance(diff, types.updates.Difference):
            if newest_first:
                diff.new_messages = diff.new_messages[::-1]
            ids.extend(m.id for m in diff.new_messages)
        return diff

    tg.handle(GetDifference, answer)
    return ids


def login_waits_for(tg: FakeTelegram, ready: Callable[[], Awaitable[object]]) -> None:
    """The login check (updates.getState) is answered once `ready()` returns: what catch-up
    delivers meanwhile is committed before Jobs starts answering, so it is queued together."""
    original = tg._handlers[GetState]

    async def answer(request: Any) -> Any:
        await ready()
        return original(request)

    tg.handle(GetState, answer)


async def test_a_pts_gap_brings_a_missed_message_and_a_duplicate_each_answered_once(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    tg = jobs.tg
    await jobs.start()
    first = tg.incoming(ALICE, "hello once")
    assert await jobs.replies_to(ALICE) == ["echo: hello once"]
    await jobs.settled()
    difference = handed_out(tg)

    tg._emit_new(first, deliver=False)  # Telegram has it again, under a new pts
    missed = tg.incoming(ALICE, "lost on the way", deliver=False)
    last = tg.incoming(ALICE, "and the last one")  # live: its pts shows the gap
    await jobs.wait_for(lambda: len(jobs.inbox(ALICE)) == 3, what="the missed message")
    await jobs.settled()

    assert {first.id, missed.id} <= set(difference)  # the gap was filled by a difference
    assert sorted(arrival_order(jobs, ALICE)) == [first.id, missed.id, last.id]
    assert [r["state"] for r in jobs.inbox(ALICE)] == ["answered"] * 3
    assert (asked(jobs, "hello once"), asked(jobs, "lost on the way")) == (1, 1)
    assert asked(jobs, "and the last one") == 1
    assert jobs.sent_texts(ALICE).count("echo: hello once") == 1
    assert replied_to(jobs, ALICE)[0] == first.id
    assert set(replied_to(jobs, ALICE)[1:]) <= {missed.id, last.id}


async def test_messages_missed_while_down_come_newest_first_and_are_answered_in_order(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    tg = jobs.tg
    await jobs.start()
    await jobs.stop()  # Telethon saves its update state: the restart catches up from it
    notes = [tg.incoming(ALICE, f"note {n}", deliver=False) for n in (1, 2, 3)]
    difference = handed_out(tg, newest_first=True)
    login_waits_for(
        tg, lambda: jobs.wait_for(lambda: len(jobs.inbox(ALICE)) == 3, what="the catch-up")
    )
    await jobs.start()
    await jobs.replies_to(ALICE, 3)
    await jobs.settled()

    ids = [n.id for n in notes]
    assert difference == ids[::-1]
    assert arrival_order(jobs, ALICE) == ids[::-1]  # committed newest first...
    assert replied_to(jobs, ALICE) == ids  # ...and answered oldest first, once each
    assert jobs.sent_texts(ALICE) == ["echo: note 1", "echo: note 2", "echo: note 3"]
    assert [r["state"] for r in jobs.inbox(ALICE)] == ["answered"] * 3


async def test_a_live_burst_in_reverse_order_is_answered_once_each(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    tg = jobs.tg
    await jobs.start()
    peer = types.PeerUser(tg.user(ALICE).id)
    notes = [tg._make_message(peer, f"burst {n}", ALICE, out=False) for n in (1, 2, 3)]
    events = []
    for note in reversed(notes):  # Telegram numbers them newest first: pts order = reverse
        tg._store(note)
        events.append(tg._msg_event(note))
    users, chats = tg._related(msgs=notes)
    tg.push(updates(events, users, chats))  # one container, as a quick succession arrives
    await jobs.wait_for(lambda: len(jobs.inbox(ALICE)) == 3, what="the burst")
    await jobs.settled()

    ids = [n.id for n in notes]
    assert arrival_order(jobs, ALICE) == ids[::-1]
    assert [r["state"] for r in jobs.inbox(ALICE)] == ["answered"] * 3
    assert [asked(jobs, f"burst {n}") for n in (1, 2, 3)] == [1, 1, 1]
    replies = replied_to(jobs, ALICE)  # follow-ups share their turn's reply
    assert replies and len(set(replies)) == len(replies) and set(replies) <= set(ids)


async def test_a_stop_while_starting_up_leaves_the_session_closed_for_the_restart(
    make_jobs: MakeJobs,
) -> None:
    """Stopped while it still looks up its own account (connected, not yet serving): the
    client is disconnected all the same, so its session file is saved and unlocked, and the
    restart catches up on what came meanwhile."""
    jobs = make_jobs(external_users="all")
    tg = jobs.tg
    await jobs.restart()  # from now on the session knows its account: only the look-up asks
    await jobs.stop()
    looked_up = asyncio.Event()
    original = tg._handlers[GetUsers]

    async def held(request: Any) -> Any:
        looked_up.set()
        await asyncio.Event().wait()  # never answered: the stop comes first
        return original(request)

    tg.handle(GetUsers, held)
    await jobs.start()
    await asyncio.wait_for(looked_up.wait(), 10)
    client = jobs.client
    await jobs.stop()
    assert not client.is_connected()
    with closing(sqlite3.connect(session_file(jobs.settings), timeout=0)) as db:
        db.execute("BEGIN IMMEDIATE")  # nobody holds it: "database is locked" otherwise
        db.rollback()

    tg.handle(GetUsers, original)
    tg.incoming(ALICE, "while you were away", deliver=False)
    await jobs.start()
    assert await jobs.replies_to(ALICE, 1) == ["echo: while you were away"]
