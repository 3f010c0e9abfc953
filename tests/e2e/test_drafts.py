"""Answers kept as Telegram drafts: the owner chose drafts for a person, or for every stranger,
so Jobs' answer waits in that chat's input field on the owner's devices. Nothing is sent to
the person, who sees no "typing…" and no 👀 either; each outbox row becomes a draft once."""

from __future__ import annotations

from typing import Any

from telethon.tl import functions

from tests.e2e.conftest import DEDICATED_OWNER_ID, OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text, tool_use
from tests.fakes.telegram import RpcFail

EVE, ANNA = 666, 777
SAVE = functions.messages.SaveDraftRequest


def saves(jobs: Jobs, chat_id: int) -> list[Any]:
    return [r for r in jobs.tg.of(SAVE) if getattr(r.peer, "user_id", None) == chat_id]


def seen_at_work(jobs: Jobs, chat_id: int) -> list[Any]:
    """Every sign of Jobs a person could see: sends, typing (and live drafts), reactions."""
    return [
        r
        for r in jobs.tg.of(
            functions.messages.SendMessageRequest,
            functions.messages.SetTypingRequest,
            functions.messages.SendReactionRequest,
        )
        if getattr(r.peer, "user_id", None) == chat_id
    ]


async def ask_drafts_for(jobs: Jobs, who: str) -> None:
    """The owner asks for drafts (through the model's conversations tool)."""
    jobs.model.push(
        tool_use("mcp__conversations__set_reply_mode", {"who": who, "mode": "draft"}),
        text("From now on your answers there are drafts."),
    )
    jobs.tg.outgoing(OWNER_ID, f"answer {who} with drafts I can check first")
    await jobs.replies_to(OWNER_ID, 1)
    await jobs.settled()


async def test_a_strangers_answer_is_a_draft_and_nothing_is_sent(jobs: Jobs) -> None:
    jobs.tg.add_user(EVE, "Eve", username="eve")
    await jobs.start()
    await ask_drafts_for(jobs, "strangers")

    jobs.model.push(text("Hi Eve! The owner will get back to you about **Friday**."))
    jobs.tg.incoming(EVE, "hello, is Friday still on?")
    await jobs.wait_for(lambda: saves(jobs, EVE), what="the draft")
    await jobs.settled()

    [saved] = saves(jobs, EVE)
    assert saved.message == "Hi Eve! The owner will get back to you about Friday."
    assert saved.entities and saved.no_webpage
    assert jobs.tg.drafts[EVE].message == saved.message  # on every device of the owner's
    assert seen_at_work(jobs, EVE) == []  # nothing sent, no typing, no 👀
    assert jobs.sent_texts(OWNER_ID) == ["From now on your answers there are drafts."]  # no
    # announcement: the owner sees Eve's chat with the draft in it
    [row] = jobs.query("SELECT state, as_draft FROM outbox WHERE chat_id = ?", (EVE,))
    assert (row["state"], row["as_draft"]) == ("sent", 1)


async def test_a_second_answer_joins_the_draft_and_the_owner_sending_it_is_no_handover(
    jobs: Jobs,
) -> None:
    jobs.tg.add_user(ANNA, "Anna", username="anna", contact=True)
    await jobs.start()
    await ask_drafts_for(jobs, "@anna")

    jobs.model.push(text("Yes, the invoice went out on Monday."))
    jobs.tg.incoming(ANNA, "did you send the invoice?")
    await jobs.wait_for(lambda: saves(jobs, ANNA), what="the first draft")
    await jobs.settled()
    jobs.model.push(text("It was 1200 EUR."))
    jobs.tg.incoming(ANNA, "and how much was it?")
    await jobs.wait_for(lambda: len(saves(jobs, ANNA)) == 2, what="the second draft")
    await jobs.settled()

    both = "Yes, the invoice went out on Monday.\n\nIt was 1200 EUR."
    assert jobs.tg.drafts[ANNA].message == both
    assert seen_at_work(jobs, ANNA) == []

    jobs.tg.outgoing(ANNA, both.replace("Monday", "Monday morning"))  # edited, then sent
    await jobs.settled()
    assert jobs.query("SELECT * FROM handovers") == []  # the owner sent Jobs' answer
    assert len(jobs.sent_texts(OWNER_ID)) == 1  # nobody told of a handover


async def test_a_draft_save_whose_answer_was_lost_is_not_saved_twice(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(EVE, "Eve", username="eve")
    lost: list[Any] = []
    save = jobs.tg._on_messages_save_draft

    def save_then_lose_the_answer(req: Any) -> Any:
        save(req)
        if not lost:  # Telegram stored it, but the answer never arrived
            lost.append(req)
            raise RpcFail(500, "INTERNAL")
        return True

    jobs.tg.handle(SAVE, save_then_lose_the_answer)
    await jobs.start()
    await ask_drafts_for(jobs, "@eve")
    jobs.model.push(text("Got it, thanks."))
    jobs.tg.incoming(EVE, "here are the numbers")
    await jobs.wait_for(lambda: lost, what="the first save")
    await jobs.due_now(EVE)  # the retry, without waiting for it
    await jobs.wait_for(
        lambda: jobs.query("SELECT 1 FROM outbox WHERE chat_id = ? AND state = 'sent'", (EVE,)),
        what="the row done",
    )
    await jobs.settled()

    assert jobs.tg.drafts[EVE].message == "Got it, thanks."  # once, not twice
    assert len(saves(jobs, EVE)) == 1
    assert seen_at_work(jobs, EVE) == []


async def test_drafts_need_the_owners_own_account(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID)
    jobs.tg.add_user(EVE, "Eve", username="eve")
    await jobs.start()
    jobs.model.push(
        tool_use("mcp__conversations__set_reply_mode", {"who": "@eve", "mode": "draft"}),
        text("I can't do drafts here."),
    )
    jobs.tg.incoming(DEDICATED_OWNER_ID, "answer Eve with drafts")
    await jobs.replies_to(DEDICATED_OWNER_ID, 1)
    await jobs.settled()
    result = str(jobs.model.calls[-1].tool_results)
    assert "only work in the owner's own account" in result
    assert jobs.query("SELECT * FROM reply_modes") == []
