"""The companion bot through the whole of `jobs run`: two real Telethon clients (the account
and the bot) on fake networks, the real SDK and CLI on the scripted model. Approval cards with
buttons, a tap that lets the call run, taps from anyone else that change nothing, and a grant
that lets exactly the same call run again unasked, and nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telethon.tl import functions, types

from tests.e2e.conftest import OWNER_ID, Jobs
from tests.e2e.test_delegation import BOB, conductor, start_meeting_task
from tests.e2e.test_delegation import make as make  # the fixture, shared
from tests.fakes.anthropic import text, tool_use
from tests.fakes.bot import TOKEN, FakeBot

STRANGER = 666
HELLO = "Ready: approval questions come here"


async def with_bot(make: Callable[..., Jobs]) -> tuple[Jobs, FakeBot]:
    """Jobs with TG_BOT_TOKEN, its bot connected, the owner having pressed Start."""
    jobs = make(tg_bot_token=TOKEN)
    bot = FakeBot()
    jobs.bot_tg = bot
    bot.add_user(OWNER_ID, "Me", username="me")
    bot.add_user(STRANGER, "Mallory", username="mallory")
    await jobs.start()
    client = bot._clients[-1]
    await jobs.wait_for(
        lambda: client.is_connected() and client._updates_handle is not None,
        what="the bot connected",
    )
    bot.incoming(OWNER_ID, "/start")
    await jobs.wait_for(lambda: bot.cards(OWNER_ID), what="the bot's hello")
    assert bot.cards(OWNER_ID)[0].message.startswith(HELLO)
    return jobs, bot


async def card_for(jobs: Jobs, bot: FakeBot, command: str, *, nth: int) -> tuple[Any, str]:
    """The task session (tainted by Bob's message) wants to run `command`: the `nth` card."""
    conductor(jobs).add("task:1", tool_use("Bash", {"command": command}), text("NOTHING_TO_REPORT"))
    jobs.tg.incoming(BOB, "Please run this for me, it is harmless.")
    await jobs.wait_for(lambda: len(bot.cards(OWNER_ID)) > nth, what=f"card {nth}")
    card = bot.cards(OWNER_ID)[nth]
    found = re.search(r"Approval needed \((\w+)\)", card.message)
    assert found is not None, card.message
    return card, found.group(1)


def buttons(bot: FakeBot, card: Any) -> list[tuple[str, bytes]]:
    markup = bot.markup(card)
    assert isinstance(markup, types.ReplyInlineMarkup)
    return [(b.text, b.type.data) for row in markup.rows for b in row.buttons]


def audited(jobs: Jobs, event: str) -> list[Any]:
    return jobs.query("SELECT * FROM audit WHERE event = ? ORDER BY id", (event,))


async def test_a_card_a_tap_and_the_call_runs_once(make: Callable[..., Jobs]) -> None:
    jobs, bot = await with_bot(make)
    await start_meeting_task(jobs, grants=("bash",))  # a task has no shell unless granted
    marker = jobs.settings.workspace_dir / "ran"
    card, code = await card_for(jobs, bot, f"touch {marker}", nth=1)
    assert f"It wants to run Bash, exactly this:\ntouch {marker}" in card.message
    assert buttons(bot, card) == [
        ("✅ Approve once", f"j:a:{code}".encode()),
        ("✅ For task #1", f"j:g:{code}".encode()),
        ("🚫 Deny", f"j:d:{code}".encode()),
    ]
    # The question went to the bot only: the account's chat has no copy of it.
    assert not [t for t in jobs.sent_texts(OWNER_ID) if "Approval needed" in t]

    bot.tap(OWNER_ID, card, f"j:a:{code}".encode())
    await jobs.wait_for(marker.exists, what="the approved command ran")
    await jobs.wait_for(lambda: bot.edits, what="the card closed")
    assert bot.edits[-1].message == f"🔐 Approval {code}: Bash\n✅ Approved."
    [answer] = bot.answers
    assert answer.message == f"Approved: Bash runs now ({code})."
    # The same approval by command afterwards changes nothing: it was resolved once.
    jobs.tg.outgoing(OWNER_ID, f"/approve_{code}")
    await jobs.wait_for(
        lambda: (
            f"Approval {code} is already approved; nothing changed." in jobs.sent_texts(OWNER_ID)
        ),
        what="the second answer refused",
    )
    [row] = jobs.query("SELECT state FROM approvals WHERE code = ?", (code,))
    assert row["state"] == "approved"
    decisions = [r["decision"] for r in jobs.query("SELECT decision FROM audit WHERE tool='Bash'")]
    assert decisions == ["approved_by_owner"]
    await jobs.settled()


async def test_a_tap_from_anyone_else_does_nothing(make: Callable[..., Jobs]) -> None:
    jobs, bot = await with_bot(make)
    await start_meeting_task(jobs, grants=("bash",))  # a task has no shell unless granted
    marker = jobs.settings.workspace_dir / "ran"
    card, code = await card_for(jobs, bot, f"touch {marker}", nth=1)
    bot.tap(STRANGER, card, f"j:a:{code}".encode())
    bot.tap(STRANGER, card, f"j:g:{code}".encode())
    bot.incoming(STRANGER, f"/approve_{code}")
    await jobs.wait_for(lambda: len(audited(jobs, "bot_refused")) == 3, what="three refusals")
    await bot.idle()
    assert [(r["person_id"], r["decision"]) for r in audited(jobs, "bot_refused")] == [
        (STRANGER, "ignored")
    ] * 3
    assert not bot.answers  # not even a toast for them
    assert not bot.cards(STRANGER)  # no reply to their message
    [row] = jobs.query("SELECT state FROM approvals WHERE code = ?", (code,))
    assert row["state"] == "pending" and not marker.exists()

    bot.tap(OWNER_ID, card, f"j:d:{code}".encode())  # the owner's answer still counts
    await jobs.wait_for(lambda: bot.edits, what="the card closed")
    assert bot.edits[-1].message == f"🔐 Approval {code}: Bash\n🚫 Denied."
    await jobs.settled()
    assert not marker.exists()


async def test_a_grant_lets_the_same_call_run_again_and_nothing_else(
    make: Callable[..., Jobs],
) -> None:
    jobs, bot = await with_bot(make)
    await start_meeting_task(jobs, grants=("bash",))  # a task has no shell unless granted
    log = jobs.settings.workspace_dir / "log"
    same = f"echo again >> {log}"
    card, code = await card_for(jobs, bot, same, nth=1)
    bot.tap(OWNER_ID, card, f"j:g:{code}".encode())
    await jobs.wait_for(lambda: lines(log) == 1, what="the granted command ran")
    assert "Grant #1: exactly this runs again in task #1 without asking." in bot.answers[0].message
    await jobs.settled()

    conductor(jobs).add("task:1", tool_use("Bash", {"command": same}), text("NOTHING_TO_REPORT"))
    jobs.tg.incoming(BOB, "Once more please.")
    await jobs.wait_for(lambda: lines(log) == 2, what="the same call, unasked")
    await jobs.settled()
    assert len(bot.cards(OWNER_ID)) == 2  # hello and the one card: nothing asked again
    [used] = audited(jobs, "grant_used")
    assert (used["session_key"], used["decision"]) == ("task:1", "approved_by_grant")

    other, other_code = await card_for(jobs, bot, f"echo other >> {log}", nth=2)
    assert other_code != code  # a different command is asked about
    bot.tap(OWNER_ID, other, f"j:d:{other_code}".encode())
    await jobs.settled()
    assert lines(log) == 2

    jobs.tg.outgoing(OWNER_ID, "/status")
    await jobs.wait_for(
        lambda: any("Grants in force: 1" in t for t in jobs.sent_texts(OWNER_ID)),
        what="/status lists the grant",
    )
    [status] = [t for t in jobs.sent_texts(OWNER_ID) if "Grants in force" in t]
    assert f"#1 task #1: Bash, exactly {same} — used 1 times" in status
    await jobs.settled()


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


async def test_a_bot_that_cannot_log_in_leaves_questions_in_the_chat(
    make: Callable[..., Jobs],
) -> None:
    jobs = make(tg_bot_token=TOKEN)
    bot = jobs.bot_tg = FakeBot(bot_id=700001)  # not the token's bot: the login is refused
    bot.fail(functions.updates.GetStateRequest, "AUTH_KEY_UNREGISTERED", code=401)
    await jobs.start()
    await start_meeting_task(jobs, grants=("bash",))  # a task has no shell unless granted
    marker = jobs.settings.workspace_dir / "ran"
    conductor(jobs).add(
        "task:1", tool_use("Bash", {"command": f"touch {marker}"}), text("NOTHING_TO_REPORT")
    )
    jobs.tg.incoming(BOB, "Please run this for me, it is harmless.")
    texts = await jobs.replies_to(OWNER_ID, 2)
    found = re.search(r"Approval needed \((\w+)\)", texts[1])
    assert found is not None and "/grant_" in texts[1]
    jobs.tg.outgoing(OWNER_ID, f"/approve_{found.group(1)}")
    await jobs.wait_for(marker.exists, what="the approved command ran")
    assert not bot.outbox  # the bot said nothing to anyone
    await jobs.settled()
