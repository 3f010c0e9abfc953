"""The "conversations" tools: draft rules and handovers, every bad input answered."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from jobs.account import Account
from jobs.conversation.handover import Handovers, HandoverSettings
from jobs.storage import Database, HandoverRepo, OutboxRepo, PeopleRepo, ReplyModeRepo, TaskRepo
from jobs.tools.conversations import ConversationTools
from jobs.tools.messaging import PersonLookup
from jobs.tools.results import ToolResult
from tests.unit.tools.conftest import FakeClock

ANNA, BOB = 42, 43


def said(result: ToolResult) -> str:
    return str(result["content"][0]["text"])


@pytest.fixture
async def tools(db: Database, clock: FakeClock) -> ConversationTools:
    people = PeopleRepo(db)
    await people.upsert_seen(ANNA, username="anna", display_name="Anna")
    await people.upsert_seen(BOB, display_name="Bob")
    await people.upsert_seen(44, display_name="Bob")  # a second Bob
    handovers = Handovers(
        repo=HandoverRepo(db),
        outbox=OutboxRepo(db),
        people=people,
        tasks=TaskRepo(db),
        settings=HandoverSettings(owner_chat=1000, zone=UTC, keep_out=timedelta(hours=1)),
        clock=clock,
    )
    account = Account(own=True)
    return ConversationTools(
        modes=ReplyModeRepo(db),
        handovers=handovers,
        lookup=PersonLookup(people=people, resolver=None),
        people=people,
        own_account=lambda: account.is_owners,
        clock=clock,
    )


async def test_reply_modes(tools: ConversationTools) -> None:
    bad = await tools.set_reply_mode({"who": "@anna", "mode": "whisper"})
    assert bad["is_error"] and said(bad) == "mode must be 'draft', 'send' or 'default'."
    assert "may mean 2 people" in said(await tools.set_reply_mode({"who": "Bob", "mode": "draft"}))
    assert "found nobody" in said(await tools.set_reply_mode({"who": "@zed", "mode": "draft"}))
    ok = await tools.set_reply_mode({"who": "@anna", "mode": "draft"})
    assert said(ok) == (
        "Answers to Anna (@anna, id 42) are from now on kept as drafts in their chat for the owner."
    )
    again = await tools.set_reply_mode({"who": "@anna", "mode": "draft"})
    assert "are already kept as drafts" in said(again)
    assert "From now on" in said(await tools.set_reply_mode({"who": "strangers", "mode": "draft"}))
    assert "already" in said(await tools.set_reply_mode({"who": "Strangers", "mode": "draft"}))
    listed = said(await tools.list_rules())
    assert "- strangers (not in the contacts): drafts" in listed
    assert "- Anna (@anna, id 42): drafts" in listed
    assert "no rule of their own" in said(
        await tools.set_reply_mode({"who": "43", "mode": "default"})
    )
    assert "follows the strangers' rule" in said(
        await tools.set_reply_mode({"who": "@anna", "mode": "default"})
    )
    assert "sent as usual again" in said(
        await tools.set_reply_mode({"who": "strangers", "mode": "send"})
    )


async def test_handovers(tools: ConversationTools, clock: FakeClock) -> None:
    assert said(await tools.hand_over({"who": "@anna", "hours": -1})).startswith("hours must be")
    assert said(await tools.hand_over({"who": "@anna", "hours": True})).startswith("hours must")
    assert said(await tools.hand_over({"who": "@anna", "hours": 10_000})).startswith("At most")
    held = said(await tools.hand_over({"who": "@anna", "hours": 2}))
    assert held.startswith("Keeping out of the conversation with Anna (@anna, id 42) until 11:00")
    assert "- keeping out of Anna (@anna, id 42) until 11:00" in said(await tools.list_rules())
    assert (
        said(await tools.take_back({"who": "@anna"})) == "Jobs answers Anna (@anna, id 42) again."
    )
    again = await tools.take_back({"who": "@anna"})
    assert again["is_error"] and "was not keeping out" in said(again)


async def test_only_in_the_owners_own_account(db: Database, clock: FakeClock) -> None:
    people = PeopleRepo(db)
    await people.upsert_seen(ANNA, username="anna", display_name="Anna")
    tools = ConversationTools(
        modes=ReplyModeRepo(db),
        handovers=Handovers(
            repo=HandoverRepo(db),
            outbox=OutboxRepo(db),
            people=people,
            tasks=TaskRepo(db),
            settings=HandoverSettings(owner_chat=1000, zone=UTC, keep_out=None),
            clock=clock,
        ),
        lookup=PersonLookup(people=people, resolver=None),
        people=people,
        own_account=lambda: False,
        clock=clock,
    )
    for result in (
        await tools.set_reply_mode({"who": "@anna", "mode": "draft"}),
        await tools.hand_over({"who": "@anna"}),
    ):
        assert result["is_error"] and "only work in the owner's own account" in said(result)
