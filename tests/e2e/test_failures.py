"""Failures: an overloaded or cut-off model, messages missed while stopped, huge messages."""

from __future__ import annotations

from jobs.conversation.outage import NOTICE
from jobs.conversation.plan import MAX_INPUT_CHARS
from tests.e2e.conftest import FAST_ENV, OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import Call, Turn, cut, error, text

ALICE = 111


async def test_an_overloaded_model_that_recovers_still_answers(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(env=FAST_ENV)
    jobs.model.push(error(529), text("here you go"))
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, "summarise my day")
    assert await jobs.replies_to(OWNER_ID) == ["here you go"]
    await jobs.settled()
    assert jobs.inbox_state(OWNER_ID, note.id) == "answered"
    assert len(jobs.model.calls) == 2


async def test_a_model_down_for_a_while_keeps_the_message_and_answers_it_when_back(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(env=FAST_ENV, model_retry_seconds=0.5)
    down = [True]

    def model(call: Call) -> Turn:
        return error(529) if down[0] else text("here you go")

    jobs.model.default = model
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, "summarise my day")
    assert await jobs.replies_to(OWNER_ID) == [NOTICE]  # told once, not apologised to
    tried = len(jobs.model.calls)
    await jobs.wait_for(lambda: len(jobs.model.calls) > tried, what="another try")
    assert jobs.inbox_state(OWNER_ID, note.id) in ("pending", "processing")

    down[0] = False
    assert await jobs.replies_to(OWNER_ID, 2) == [NOTICE, "here you go"]
    await jobs.settled()
    assert jobs.inbox_state(OWNER_ID, note.id) == "answered"
    assert jobs.sent_texts(OWNER_ID) == [NOTICE, "here you go"]
    jobs.assert_sent_once()


async def test_a_cut_stream_is_retried_and_answered_once(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(env=FAST_ENV)
    jobs.model.push(cut(text("the full answer"), after_events=3), text("the full answer"))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "a question")
    assert await jobs.replies_to(OWNER_ID) == ["the full answer"]
    await jobs.settled()
    assert jobs.sent_texts(OWNER_ID) == ["the full answer"]


async def test_messages_that_came_while_stopped_are_answered_once(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, "before the stop")
    await jobs.replies_to(ALICE)
    await jobs.settled()
    await jobs.stop()

    missed = jobs.tg.incoming(ALICE, "while you were down", deliver=False)
    note = jobs.tg.outgoing(OWNER_ID, "a note from my phone", deliver=False)
    await jobs.start()
    assert await jobs.replies_to(ALICE, 2) == ["echo: before the stop", "echo: while you were down"]
    assert await jobs.replies_to(OWNER_ID) == ["echo: a note from my phone"]
    await jobs.settled()
    assert jobs.inbox_state(ALICE, missed.id) == "answered"
    assert jobs.inbox_state(OWNER_ID, note.id) == "answered"

    await jobs.restart()  # nothing is replayed or answered a second time
    jobs.tg.incoming(ALICE, "and now")
    await jobs.replies_to(ALICE, 3)
    await jobs.settled()
    assert len(jobs.sent_texts(ALICE)) == 3
    assert len(jobs.sent_texts(OWNER_ID)) == 1
    assert len(jobs.inbox()) == 4
    jobs.assert_sent_once()


def _huge() -> str:
    return "".join(f"line {n:05d} of a very long paste\n" for n in range(3500))  # ≈ 100 kB


async def test_a_huge_owner_message_is_cut_for_the_model_and_saved_whole(jobs: Jobs) -> None:
    huge = _huge()
    assert len(huge) > 100_000
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, huge)
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert jobs.inbox_state(OWNER_ID, note.id) == "answered"
    [call] = jobs.model.calls
    prompt = call.last_user_text
    assert "line 00000" in prompt and "line 03499" not in prompt
    assert len(prompt) <= MAX_INPUT_CHARS + 500  # the cut text and a note about it
    saved = jobs.settings.workspace_dir / "uploads" / f"message-{OWNER_ID}-{note.id}.txt"
    assert saved.read_text(encoding="utf-8") == huge
    assert str(saved) in prompt


async def test_a_huge_message_from_someone_else_is_cut_and_not_saved(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, _huge())
    await jobs.replies_to(ALICE)
    await jobs.settled()

    [call] = jobs.model.calls
    assert len(call.last_user_text) <= MAX_INPUT_CHARS + 500
    assert "line 03499" not in call.last_user_text
    assert not (jobs.settings.workspace_dir / "uploads").exists()
    assert [r["state"] for r in jobs.inbox()] == ["answered"]
