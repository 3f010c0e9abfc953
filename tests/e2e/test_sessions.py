"""Sessions: resume after a restart, the live-process cap, follow-ups, the turn time limit."""

from __future__ import annotations

import asyncio
import gc

import pytest

from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import Call, Turn, hang, text, tool_use

ALICE = 111


async def test_the_owner_session_resumes_after_a_restart(jobs: Jobs) -> None:
    jobs.model.push(text("Nice to meet you, Ada."))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "my name is Ada")
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()
    [before] = jobs.query("SELECT sdk_session_id FROM sessions WHERE key = 'owner'")

    await jobs.restart()
    jobs.model.push(text("You are Ada."))
    jobs.tg.outgoing(OWNER_ID, "what is my name?")
    assert await jobs.replies_to(OWNER_ID, 2) == ["Nice to meet you, Ada.", "You are Ada."]
    await jobs.settled()

    call = jobs.model.calls[-1]
    assert "what is my name?" in call.last_user_text
    assert any("my name is Ada" in t for t in call.user_texts)
    assert any(
        "Nice to meet you, Ada." in str(m["content"])
        for m in call.messages
        if m["role"] == "assistant"
    )
    [after] = jobs.query("SELECT sdk_session_id FROM sessions WHERE key = 'owner'")
    assert before["sdk_session_id"] is not None
    assert after["sdk_session_id"] == before["sdk_session_id"]
    # Jobs' own earlier reply in Saved Messages was not taken for a note after the restart.
    assert len(jobs.inbox()) == 2


async def test_what_startup_made_is_out_of_the_collectors_way_while_jobs_runs(
    jobs: Jobs,
) -> None:
    assert gc.get_freeze_count() == 0
    await jobs.start()
    await jobs.wait_for(lambda: gc.get_freeze_count() > 0, what="startup's objects frozen")
    jobs.tg.outgoing(OWNER_ID, "still fine?")
    assert await jobs.replies_to(OWNER_ID) == ["echo: still fine?"]
    await jobs.stop()
    assert gc.get_freeze_count() == 0  # the collector has all of it again


async def test_a_turn_cut_short_by_a_stop_is_answered_after_the_start(jobs: Jobs) -> None:
    jobs.model.push(text("too late", delay=1))
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, "answer me eventually")
    await jobs.model.wait_calls_async(1)
    async with asyncio.timeout(4):  # the turn is interrupted, not waited for (the SDK: 5 s)
        await jobs.stop()  # stopped mid-turn: the message stays in the inbox
    await jobs.start()
    assert await jobs.replies_to(OWNER_ID) == ["echo: answer me eventually"]
    await jobs.settled()

    assert jobs.inbox_state(OWNER_ID, note.id) == "answered"
    [row] = jobs.inbox(OWNER_ID)
    assert row["attempts"] == 2


async def test_one_live_process_still_answers_two_people(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all", max_live_sessions=1)
    await jobs.start()
    jobs.tg.incoming(ALICE, "alice one")
    jobs.tg.outgoing(OWNER_ID, "owner one")
    await jobs.settled()
    jobs.tg.incoming(ALICE, "alice two")
    jobs.tg.outgoing(OWNER_ID, "owner two")
    await jobs.settled()

    assert jobs.sent_texts(ALICE) == ["echo: alice one", "echo: alice two"]
    assert jobs.sent_texts(OWNER_ID) == ["echo: owner one", "echo: owner two"]
    # Each second turn resumed its own conversation, not the other's.
    [alice] = jobs.calls_with("alice two")
    assert any("alice one" in t for t in alice.user_texts)
    assert not any("owner" in t for t in alice.user_texts)
    [owner] = jobs.calls_with("owner two")
    assert any("owner one" in t for t in owner.user_texts)


async def test_a_message_sent_while_a_tool_runs_joins_the_turn(jobs: Jobs) -> None:
    started = jobs.settings.workspace_dir / "started"
    jobs.model.push(tool_use("Bash", {"command": f"touch {started} && sleep 3"}))

    def answer(call: Call) -> Turn:
        # The CLI shows a message sent mid-turn next to the tool result, as a system note.
        both = "first job" in call.user_texts[0] and "and a second thing" in call.system_text
        return text("did both" if both else f"unexpected: {call.messages!r}")

    jobs.model.push(answer)
    await jobs.start()
    first = jobs.tg.outgoing(OWNER_ID, "first job")
    await jobs.wait_for(started.exists, what="the tool to run")
    second = jobs.tg.outgoing(OWNER_ID, "and a second thing")
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    [reply] = jobs.delivered(OWNER_ID)
    assert reply.message == "did both"
    assert reply.reply_to is None  # it answers both: nothing newer to tell it from
    assert jobs.answered(OWNER_ID) == [first.id]
    assert jobs.inbox_state(OWNER_ID, first.id) == "answered"
    assert jobs.inbox_state(OWNER_ID, second.id) == "answered"
    assert len(jobs.model.calls) == 2
    assert [r.msg_id for r in jobs.reactions(OWNER_ID)] == [first.id, second.id]


async def test_a_turn_past_the_time_limit_is_stopped_and_the_person_told(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(query_timeout_seconds=2)
    jobs.model.push(hang())
    await jobs.start()
    stuck = jobs.tg.outgoing(OWNER_ID, "think forever")
    [reply] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert reply.startswith("That took longer than 2 s, so I stopped it.")
    assert jobs.inbox_state(OWNER_ID, stuck.id) == "failed"

    jobs.tg.outgoing(OWNER_ID, "are you back?")
    replies = await jobs.replies_to(OWNER_ID, 2)
    assert replies[1] == "echo: are you back?"


async def test_owner_is_told_plainly_when_the_browser_is_down(make_jobs: MakeJobs) -> None:
    from jobs.extensions.browser import find_playwright_mcp

    if find_playwright_mcp() is None:
        pytest.skip("@playwright/mcp is not installed (npm ci in browser/)")
    # Port 9 on loopback: nothing listens there, so the CDP check fails at once.
    jobs = make_jobs(browser_cdp_url="http://127.0.0.1:9")
    jobs.model.push(text("The browser is down right now."))
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "open example.org for me")
    await jobs.replies_to(OWNER_ID)
    prompt = jobs.model.calls[0].last_user_text
    assert "the browser is unavailable" in prompt and "open example.org for me" in prompt
    assert "mcp__browser__browser_navigate" in jobs.model.calls[0].offered_tools
