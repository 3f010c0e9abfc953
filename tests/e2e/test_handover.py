"""Handover: in the owner's own account, when the owner writes to someone themselves, Jobs
stops answering that person (HANDOVER_MINUTES after the owner's last message, or until
/handback) and tells the owner once; a task talking with them waits. It survives a restart."""

from __future__ import annotations

from collections.abc import Callable

from telethon.tl import functions

from tests.e2e.conftest import DEDICATED_OWNER_ID, OWNER_ID, Jobs, MakeJobs
from tests.e2e.test_delegation import BOB, conductor, start_meeting_task
from tests.e2e.test_delegation import make as make  # the fixture, shared
from tests.fakes.anthropic import text

ALICE = 111


def handover_notices(jobs: Jobs) -> list[str]:
    return [t for t in jobs.sent_texts(OWNER_ID) if "yourself, so I'll leave" in t]


async def test_the_owner_writing_to_someone_silences_jobs_toward_them_until_handed_back(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(ALICE, "Alice", username="alice")
    await jobs.start()
    jobs.tg.incoming(ALICE, "hi assistant")
    assert await jobs.replies_to(ALICE) == ["echo: hi assistant"]

    jobs.tg.outgoing(ALICE, "Hi Alice, it's me, I'll take it from here")  # from the phone
    [notice] = await jobs.replies_to(OWNER_ID)
    assert notice.startswith("You wrote to Alice (@alice) yourself, so I'll leave the conversation")
    assert "(1 h after your last message to them)" in notice
    assert f"/handback_{ALICE}" in notice and f"/hold_{ALICE}" in notice

    calls = len(jobs.model.calls)
    jobs.tg.incoming(ALICE, "great, so what about Friday?")
    jobs.tg.outgoing(ALICE, "Friday works")  # the owner goes on: no second notice
    await jobs.settled()
    assert jobs.sent_texts(ALICE) == ["echo: hi assistant"]
    assert len(jobs.model.calls) == calls
    assert jobs.inbox(ALICE)[-1]["error"] == "the owner is talking with them"

    await jobs.restart()  # kept in the database
    jobs.tg.incoming(ALICE, "are you still there?")
    await jobs.settled()
    assert jobs.sent_texts(ALICE) == ["echo: hi assistant"]
    assert len(handover_notices(jobs)) == 1

    jobs.tg.outgoing(OWNER_ID, f"/handback_{ALICE}")
    assert (await jobs.replies_to(OWNER_ID, 2))[1] == "I'll answer Alice again."
    jobs.tg.incoming(ALICE, "hello again")
    assert (await jobs.replies_to(ALICE, 2))[1] == "echo: hello again"
    await jobs.settled()


async def test_a_task_talking_with_the_person_waits_and_the_owner_is_told(
    make: Callable[..., Jobs],
) -> None:
    jobs = make()
    await jobs.start()
    await start_meeting_task(jobs)  # task #1 wrote to Bob and waits for his answer
    task_calls = len(conductor(jobs).seen.get("task:1", []))

    jobs.tg.outgoing(BOB, "Bob, forget the assistant, let's just talk tonight")
    notice = (await jobs.replies_to(OWNER_ID, 2))[1]
    assert notice.startswith("You wrote to Bob (@bob) yourself")
    assert "Task #1 «Meeting with Bob» waits meanwhile" in notice

    jobs.tg.incoming(BOB, "Tuesday 15:00 works for me")
    await jobs.settled()
    assert len(conductor(jobs).seen.get("task:1", [])) == task_calls  # the task never saw it
    assert len(jobs.sent_texts(OWNER_ID)) == 2  # no report
    [row] = [r for r in jobs.inbox(BOB) if r["text"] == "Tuesday 15:00 works for me"]
    assert (row["state"], row["error"]) == ("ignored", "the owner is talking with them")

    conductor(jobs).add("owner")  # the owner tells the task to go on: it says it waits
    jobs.tg.outgoing(OWNER_ID, f"/hold_{BOB} 2h")
    held = (await jobs.replies_to(OWNER_ID, 3))[2]
    assert held.startswith("I'll keep out of your conversation with Bob until ")
    await jobs.settled()


async def test_jobs_own_replies_and_the_owners_notes_are_no_handover(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(ALICE, "Alice")
    jobs.model.push(text("Sure, noted."), text("Hello Alice!"))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "note to self: call the bank")  # Saved Messages
    await jobs.replies_to(OWNER_ID)
    jobs.tg.incoming(ALICE, "hello")
    await jobs.replies_to(ALICE)  # Jobs' own reply is an outgoing message to Alice too
    await jobs.settled()
    assert jobs.query("SELECT * FROM handovers") == []
    assert handover_notices(jobs) == []


async def test_an_account_of_jobs_own_has_no_handover(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID, external_users="all")
    jobs.tg.add_user(ALICE, "Alice")
    await jobs.start()
    jobs.tg.outgoing(ALICE, "someone logged into the assistant account wrote this")
    jobs.tg.incoming(ALICE, "hi")
    assert await jobs.replies_to(ALICE) == ["echo: hi"]
    await jobs.settled()
    assert jobs.query("SELECT * FROM handovers") == []
    assert not jobs.tg.of(functions.messages.SaveDraftRequest)
