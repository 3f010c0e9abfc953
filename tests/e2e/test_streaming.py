"""Replies stream: while the model writes, the reply shows as Telegram's live draft in the chat
(the first words at once, then growing); the finished reply is one message that takes the
draft's place (the same random id), formatted; nothing is edited and nothing sent twice."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from telethon.tl import functions, types

from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text, tool_use

STORY = " ".join(f"**word{n}**" if n % 50 == 0 else f"word{n}" for n in range(300))


def drafts(jobs: Jobs) -> list[Any]:
    return [
        r.action
        for r in jobs.tg.of(functions.messages.SetTypingRequest)
        if isinstance(r.action, types.SendMessageTextDraftAction)
    ]


async def test_a_long_reply_streams_as_a_draft_and_arrives_once(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    await jobs.start()
    jobs.model.push(text(STORY, chunk=60, delay=0.05))  # about 2 s of writing
    jobs.tg.outgoing(OWNER_ID, "tell me a long story")
    await jobs.replies_to(OWNER_ID, 1)
    await jobs.settled()

    shown = [d.text.text for d in drafts(jobs)]
    assert len(shown) >= 2, shown  # it grew on screen
    assert all(later.startswith(earlier[:20]) for earlier, later in pairwise(shown))
    assert len(shown[0]) < len(STORY) // 2  # the first words, long before the end
    assert len({d.random_id for d in drafts(jobs)}) == 1
    [sent] = jobs.send_requests(OWNER_ID)
    assert sent.random_id == drafts(jobs)[0].random_id  # the reply takes the draft's place
    assert "word299" in sent.message and "**" not in sent.message  # formatted when final
    assert any(isinstance(e, types.MessageEntityBold) for e in sent.entities or [])
    assert not jobs.tg.of(functions.messages.EditMessageRequest)


async def test_the_tool_in_use_shows_in_the_draft(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    (jobs.settings.workspace_dir).mkdir(parents=True, exist_ok=True)
    (jobs.settings.workspace_dir / "notes.md").write_text("milk, eggs", encoding="utf-8")
    await jobs.start()
    jobs.model.push(
        tool_use("Read", {"file_path": str(jobs.settings.workspace_dir / "notes.md")}),
        text("You need milk and eggs.", chunk=5, delay=0.05),
    )
    jobs.tg.outgoing(OWNER_ID, "what do I need?")
    assert (await jobs.replies_to(OWNER_ID, 1)) == ["You need milk and eggs."]
    shown = [d.text.text for d in drafts(jobs)]
    assert "⏳ Read…" in shown[0], shown
