"""Commands: /help per role, /stop, /clear, unknown and malformed commands."""

from __future__ import annotations

from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text

ALICE = 111


async def test_help_differs_for_the_owner_and_others(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "/help")
    jobs.tg.incoming(ALICE, "/help")
    [owner_help] = await jobs.replies_to(OWNER_ID)
    [alice_help] = await jobs.replies_to(ALICE)
    await jobs.settled()

    for command in ("/help", "/clear", "/stop", "/allow", "/block"):
        assert command in owner_help
    assert "/help" in alice_help and "/clear" in alice_help
    for command in ("/stop", "/allow", "/block"):
        assert command not in alice_help
    assert jobs.model.calls == []
    assert [r["state"] for r in jobs.inbox()] == ["answered", "answered"]


async def test_stop_interrupts_the_owners_running_turn(jobs: Jobs) -> None:
    jobs.model.push(text("Once upon a time " * 40, delay=0.1, chunk=8))  # ≈ 9 s of streaming
    await jobs.start()
    story = jobs.tg.outgoing(OWNER_ID, "tell me a long story")
    await jobs.model.wait_calls_async(1)
    jobs.tg.outgoing(OWNER_ID, "/stop")
    replies = await jobs.replies_to(OWNER_ID, 2, within=6)
    await jobs.settled()

    assert "Stopping what I was doing." in replies
    [answer] = [m for m in jobs.delivered(OWNER_ID) if m.reply_to is not None]
    assert answer.reply_to.reply_to_msg_id == story.id  # /stop came after it: it says which
    assert "stopped" in answer.message.lower()
    assert "Once upon a time " * 40 not in answer.message
    assert [r["state"] for r in jobs.inbox()] == ["answered", "answered"]

    jobs.tg.outgoing(OWNER_ID, "still there?")
    after = (await jobs.replies_to(OWNER_ID, 3))[2]
    assert after.endswith("still there?")  # the CLI tells the model the last turn was stopped


async def test_stop_also_stops_a_turn_that_is_still_starting(jobs: Jobs) -> None:
    """/stop right after the request, while the session's process is still launching."""
    jobs.model.push(text("Once upon a time " * 40, delay=0.1, chunk=8))
    await jobs.start()
    story = jobs.tg.outgoing(OWNER_ID, "tell me a long story")
    await jobs.wait_for(lambda: jobs.inbox_state(OWNER_ID, story.id) == "processing", what="taken")
    jobs.tg.outgoing(OWNER_ID, "/stop")
    await jobs.settled(within=6)

    answers = dict(zip(jobs.answered(OWNER_ID), jobs.sent_texts(OWNER_ID), strict=True))
    assert answers[story.id] == "Stopped."
    assert "Stopping what I was doing." in answers.values()
    assert jobs.model.calls == []  # stopped before the model was asked anything


async def test_stop_with_nothing_running_says_so(jobs: Jobs) -> None:
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "/stop")
    assert await jobs.replies_to(OWNER_ID) == ["Nothing is running right now."]


async def test_clear_starts_only_the_writers_session_afresh(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, "remember banana")
    jobs.tg.outgoing(OWNER_ID, "remember apple")
    await jobs.settled()
    jobs.tg.incoming(ALICE, "/clear")
    [_, cleared] = await jobs.replies_to(ALICE, 2)
    assert cleared == "Done: our next message starts a fresh conversation."

    jobs.tg.incoming(ALICE, "what fruit?")
    jobs.tg.outgoing(OWNER_ID, "which fruit?")
    await jobs.settled()
    [alice] = jobs.calls_with("what fruit?")
    assert alice.user_texts == ["what fruit?"]
    [owner] = jobs.calls_with("which fruit?")
    assert any("remember apple" in t for t in owner.user_texts)


async def test_an_unknown_command_gets_a_short_answer(jobs: Jobs) -> None:
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "/frobnicate now")
    [reply] = await jobs.replies_to(OWNER_ID)
    assert reply == "I don't know the command /frobnicate. Send /help to see what I understand."
    assert jobs.model.calls == []


async def test_malformed_allow_gets_a_usage_answer(jobs: Jobs) -> None:
    await jobs.start()
    for command in ("/allow", "/allow 1 2", "/allow @nobody", "/allow_ghost", "/allow 424242"):
        jobs.tg.outgoing(OWNER_ID, command)
        await jobs.settled()
    usage, two, nobody, ghost, number = jobs.sent_texts(OWNER_ID)

    assert usage == two == "Usage: /allow <user id or @username>, e.g. /allow 123456789"
    assert nobody.startswith("I don't know anyone called @nobody yet")
    assert ghost.startswith("I don't know anyone called ghost yet")
    assert number.startswith("I don't know anyone called 424242 yet")
    assert jobs.query("SELECT * FROM users WHERE access = 'allowed'") == []


async def test_owner_commands_mean_nothing_from_others(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, f"/block {OWNER_ID}")
    jobs.tg.incoming(ALICE, "/stop")
    await jobs.settled()

    assert jobs.sent_texts(ALICE) == [
        "I don't know the command /block. Send /help to see what I understand.",
        "I don't know the command /stop. Send /help to see what I understand.",
    ]
    assert jobs.query("SELECT * FROM users WHERE access = 'blocked'") == []
