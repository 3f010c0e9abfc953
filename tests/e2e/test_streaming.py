"""Replies stream. In a chat with someone (the owner writing to Jobs' own account, a person)
the reply shows as Telegram's live draft while the model writes, and the finished reply is one
message that takes the draft's place (the same random id), formatted; nothing is edited. In
Saved Messages, where no draft shows, the reply streams into a message of its own that the
finished reply edits: one message either way, never a second copy."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from telethon.tl import functions, types

from tests.e2e.conftest import DEDICATED_OWNER_ID, OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text, tool_use

STORY = " ".join(f"**word{n}**" if n % 50 == 0 else f"word{n}" for n in range(300))


def drafts(jobs: Jobs) -> list[Any]:
    return [
        r.action
        for r in jobs.tg.of(functions.messages.SetTypingRequest)
        if isinstance(r.action, types.SendMessageTextDraftAction)
    ]


def edits(jobs: Jobs) -> list[Any]:
    return jobs.tg.of(functions.messages.EditMessageRequest)


async def test_a_long_reply_streams_as_a_draft_and_arrives_once(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID)
    await jobs.start()
    jobs.model.push(text(STORY, chunk=60, delay=0.05))  # about 2 s of writing
    jobs.tg.incoming(DEDICATED_OWNER_ID, "tell me a long story")
    await jobs.replies_to(DEDICATED_OWNER_ID, 1)
    await jobs.settled()

    shown = [d.text.text for d in drafts(jobs)]
    assert len(shown) >= 2, shown  # it grew on screen
    assert all(later.startswith(earlier[:20]) for earlier, later in pairwise(shown))
    assert len(shown[0]) < len(STORY) // 2  # the first words, long before the end
    assert len({d.random_id for d in drafts(jobs)}) == 1
    [sent] = jobs.send_requests(DEDICATED_OWNER_ID)
    assert sent.random_id == drafts(jobs)[0].random_id  # the reply takes the draft's place
    assert "word299" in sent.message and "**" not in sent.message  # formatted when final
    assert any(isinstance(e, types.MessageEntityBold) for e in sent.entities or [])
    assert not edits(jobs)


async def test_the_tool_in_use_shows_in_the_draft(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID)
    (jobs.settings.workspace_dir).mkdir(parents=True, exist_ok=True)
    (jobs.settings.workspace_dir / "notes.md").write_text("milk, eggs", encoding="utf-8")
    await jobs.start()
    jobs.model.push(
        tool_use("Read", {"file_path": str(jobs.settings.workspace_dir / "notes.md")}),
        text("You need milk and eggs.", chunk=5, delay=0.1),
    )
    jobs.tg.incoming(DEDICATED_OWNER_ID, "what do I need?")
    assert (await jobs.replies_to(DEDICATED_OWNER_ID, 1)) == ["You need milk and eggs."]
    shown = [d.text.text for d in drafts(jobs)]
    assert any("⏳ Read…" in s for s in shown), shown


async def test_in_saved_messages_the_reply_streams_into_one_message_it_then_becomes(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs()
    await jobs.start()
    jobs.model.push(text(STORY, chunk=60, delay=0.05))
    jobs.tg.outgoing(OWNER_ID, "tell me a long story")
    assert len(await jobs.replies_to(OWNER_ID, 1)) == 1
    await jobs.settled()

    assert not drafts(jobs)  # nobody else is in Saved Messages to see one
    [preview] = jobs.send_requests(OWNER_ID)
    assert preview.message.startswith("**word0**") and "word299" not in preview.message
    assert preview.no_webpage and not preview.entities  # plain while it is written
    *growing, final = edits(jobs)
    assert growing, "it grew on screen"
    assert all(e.id == final.id for e in growing)
    assert "word299" in final.message and "**" not in final.message  # formatted when final
    assert any(isinstance(e, types.MessageEntityBold) for e in final.entities or [])
    [message] = jobs.delivered(OWNER_ID)  # one message: the reply
    assert message.id == final.id and message.message == final.message
    [row] = jobs.query("SELECT edit_of, state FROM outbox")
    assert (row["edit_of"], row["state"]) == (final.id, "sent")
    jobs.assert_sent_once()


async def test_a_short_answer_arrives_as_one_message(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    await jobs.start()
    jobs.model.push(text("Yes."))
    jobs.tg.outgoing(OWNER_ID, "is it Friday?")
    assert await jobs.replies_to(OWNER_ID, 1) == ["Yes."]
    await jobs.settled()
    # Usually without a preview at all (done within DRAFT_FIRST); on a slow machine with one
    # that became the answer: one message either way.
    assert [m.message for m in jobs.tg.outbox] == ["Yes."]
    jobs.assert_sent_once()


async def test_a_reply_longer_than_a_message_goes_on_in_new_messages(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    await jobs.start()
    long = " ".join(f"line{n}" for n in range(1200))  # about 8,000 characters
    jobs.model.push(text(long, chunk=400, delay=0.05))
    jobs.tg.outgoing(OWNER_ID, "list everything")
    await jobs.settled()
    first, *rest = jobs.delivered(OWNER_ID)
    assert rest, "the rest follows in new messages"
    assert first.id == edits(jobs)[-1].id  # the streamed message became the first part
    assert " ".join(m.message for m in [first, *rest]).split() == long.split()
    jobs.assert_sent_once()
