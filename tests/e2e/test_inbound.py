"""Inbound: which updates are conversations, the inbox first, dedup, order per chat, concurrency."""

from __future__ import annotations

from typing import Any

from telethon.tl import functions

from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import Call, Turn, text

ALICE, BOB = 111, 222


async def test_only_private_messages_from_people_are_answered(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    tg = jobs.tg
    tg.add_chat(50, "Family")
    tg.add_channel(60, "Neighbours", megagroup=True)
    tg.add_channel(70, "News")
    tg.add_user(333, "Helper", bot=True)
    await jobs.start()

    tg.incoming(ALICE, "in a group", chat=50)
    tg.incoming(ALICE, "in a megagroup", chat=60)
    tg.channel_post(70, "a channel post")
    tg.incoming(333, "a bot writes")
    private = tg.incoming(ALICE, "in private")
    [reply] = await jobs.replies_to(ALICE)
    await jobs.settled()

    assert reply == "echo: in private"
    assert [(r["chat_id"], r["msg_id"]) for r in jobs.inbox()] == [(ALICE, private.id)]
    assert len(jobs.send_requests()) == 1
    assert len(jobs.model.calls) == 1


async def test_owner_talks_in_saved_messages_and_own_chats_are_ignored(jobs: Jobs) -> None:
    await jobs.start()
    jobs.tg.outgoing(ALICE, "see you tomorrow")  # the owner writing to a friend
    note = jobs.tg.outgoing(OWNER_ID, "remind me about the dentist")
    [reply] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert reply == "echo: remind me about the dentist"
    # Jobs' own reply in Saved Messages is not taken for a new note from the owner.
    assert [(r["chat_id"], r["msg_id"], r["state"]) for r in jobs.inbox()] == [
        (OWNER_ID, note.id, "answered")
    ]
    assert jobs.sent_texts(ALICE) == []
    assert len(jobs.model.calls) == 1


async def test_message_is_committed_to_the_inbox_before_anything_else(jobs: Jobs) -> None:
    seen: dict[str, Any] = {}

    def remember(what: str) -> None:
        seen[what] = [(r["msg_id"], r["state"]) for r in jobs.inbox(OWNER_ID)]

    original = jobs.tg._handlers[functions.messages.SendReactionRequest]

    def react(request: Any) -> Any:
        remember("at the reaction")
        return original(request)

    def answer(call: Call) -> Turn:
        remember("at the model call")
        return text("noted")

    jobs.tg.handle(functions.messages.SendReactionRequest, react)
    jobs.model.push(answer)
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, "buy milk")
    await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert seen == {
        "at the reaction": [(note.id, "processing")],
        "at the model call": [(note.id, "processing")],
    }
    assert jobs.inbox_state(OWNER_ID, note.id) == "answered"


async def test_a_duplicate_update_is_answered_once(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    message = jobs.tg.incoming(ALICE, "hello once")
    await jobs.tg.idle()
    jobs.tg._emit_new(message)  # Telegram hands out the same message again (new pts)
    await jobs.replies_to(ALICE)
    await jobs.settled()

    assert jobs.sent_texts(ALICE) == ["echo: hello once"]
    assert len(jobs.inbox()) == 1
    assert len([c for c in jobs.model.calls if "hello once" in c.last_user_text]) == 1
    jobs.assert_sent_once()


async def test_quick_messages_from_one_person_are_answered_in_order(jobs: Jobs) -> None:
    await jobs.start()
    notes = [jobs.tg.outgoing(OWNER_ID, f"note {n}") for n in (1, 2, 3)]
    await jobs.settled()

    assert [r["state"] for r in jobs.inbox(OWNER_ID)] == ["answered"] * 3
    # However they were grouped into turns, the session saw them in the order they were sent.
    history = "\n".join(jobs.model.calls[-1].user_texts)
    positions = [history.index(f"note {n}") for n in (1, 2, 3)]
    assert positions == sorted(positions)
    replied_to = jobs.answered(OWNER_ID)
    assert replied_to == sorted(replied_to)
    assert set(replied_to) <= {n.id for n in notes}
    jobs.assert_sent_once()


async def test_a_message_waiting_behind_a_turn_is_not_overtaken(jobs: Jobs) -> None:
    """One that arrived while the session was starting is answered before a later one."""
    jobs.model.push(text("first answer", delay=0.3))
    await jobs.start()
    first = jobs.tg.outgoing(OWNER_ID, "first")
    await jobs.wait_for(
        lambda: jobs.inbox_state(OWNER_ID, first.id) == "processing", what="first taken"
    )
    jobs.tg.outgoing(OWNER_ID, "second")  # the session is still starting: it must wait
    await jobs.model.wait_calls_async(1)
    jobs.tg.outgoing(OWNER_ID, "third")  # the first turn runs now
    await jobs.settled()

    history = "\n".join(jobs.model.calls[-1].user_texts)
    assert history.index("second") < history.index("third")
    assert [r["state"] for r in jobs.inbox(OWNER_ID)] == ["answered"] * 3
    jobs.assert_sent_once()


async def test_different_chats_are_answered_concurrently(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")

    def answer(call: Call) -> Turn:
        if "take your time" in call.last_user_text:
            return text("slow answer", delay=0.5)  # ≈ 3 s of streaming
        return text("quick answer")

    jobs.model.default = answer
    await jobs.start()
    jobs.tg.incoming(ALICE, "take your time")
    await jobs.model.wait_calls_async(1)
    jobs.tg.incoming(BOB, "quick question")
    assert await jobs.replies_to(BOB) == ["quick answer"]
    assert jobs.sent_texts(ALICE) == []  # still streaming
    assert await jobs.replies_to(ALICE) == ["slow answer"]


async def test_taken_messages_get_a_reaction_announced_strangers_do_not(jobs: Jobs) -> None:
    await jobs.start()
    note = jobs.tg.outgoing(OWNER_ID, "what's on today?")
    jobs.tg.incoming(ALICE, "hi, it's Alice")  # a stranger: announced to the owner only
    await jobs.replies_to(OWNER_ID, 2)
    await jobs.settled()

    [reaction] = jobs.reactions(OWNER_ID)
    assert reaction.msg_id == note.id
    assert [r.emoticon for r in reaction.reaction] == ["👀"]
    assert jobs.reactions(ALICE) == []
    assert jobs.sent_texts(ALICE) == []
