"""Abuse: a crowd of strangers flooding Jobs through the fake Telegram (the whole of `jobs run`
in-process, EXTERNAL_USERS=all, the scripted model echoing). Per-person and global budgets
hold, the owner still gets through promptly, memory stays bounded, nothing fails."""

from __future__ import annotations

import asyncio
import os
import resource
from collections.abc import Callable
from pathlib import Path

from jobs.conversation.limits import RateLimiter
from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text
from tests.fakes.tl import entity_spans

STRANGERS = int(os.environ.get("JOBS_ABUSE_STRANGERS", "50"))
EACH = int(os.environ.get("JOBS_ABUSE_EACH", "200"))
FIRST_STRANGER = 50_000
OWNER_WITHIN_SECONDS = 30.0
RSS_GROWTH_LIMIT_MB = 300.0
LIMIT_WORDS = ("faster than I can answer", "more messages than I can answer")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def answers(jobs: Jobs, person: int) -> list[str]:
    """Turn replies (not rate-limit notices) a person got."""
    return [t for t in jobs.sent_texts(person) if not any(w in t for w in LIMIT_WORDS)]


async def test_a_crowd_of_strangers_cannot_drown_the_owner(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all", max_live_sessions=2)
    defaults = RateLimiter.__init__.__kwdefaults__
    assert defaults is not None
    await jobs.start()
    loop = asyncio.get_running_loop()
    rss_before, started = rss_mb(), loop.time()
    owner_asked = owner_answered = 0.0
    for round_ in range(EACH):
        for person in range(FIRST_STRANGER, FIRST_STRANGER + STRANGERS):
            jobs.tg.incoming(person, f"spam {round_} from {person}")
        if round_ == EACH // 2:
            owner_asked = loop.time()
            jobs.tg.outgoing(OWNER_ID, "owner: are you there?")
            stored = asyncio.create_task(_stored(jobs, loop.time))
        await asyncio.sleep(0.001)  # let Telethon and the workers breathe, as a socket would
        if owner_asked and not owner_answered and jobs.sent_texts(OWNER_ID):
            owner_answered = loop.time()
    injected = loop.time() - started
    if not owner_answered:
        await jobs.replies_to(OWNER_ID, within=OWNER_WITHIN_SECONDS)
        owner_answered = loop.time()
    owner_stored = await stored
    await jobs.settled(within=600)
    elapsed = loop.time() - started
    rss_after = rss_mb()

    per_person = {
        p: len(answers(jobs, p)) for p in range(FIRST_STRANGER, FIRST_STRANGER + STRANGERS)
    }
    total = sum(per_person.values())
    person_cap = defaults["burst"] + elapsed * defaults["per_minute"] / 60
    global_cap = defaults["global_burst"] + elapsed * defaults["global_per_minute"] / 60
    states = {
        r["state"]: r["n"]
        for r in jobs.query("SELECT state, COUNT(*) AS n FROM inbox GROUP BY state")
    }
    notices = sum(len(jobs.sent_texts(p)) for p in per_person) - total
    print(  # noqa: T201 - the figures this run is for (pytest -s shows them)
        f"\nabuse: {STRANGERS}x{EACH} messages pushed in {injected:.1f} s, all handled in "
        f"{elapsed:.1f} s; stranger turns answered "
        f"{total} (cap {global_cap:.0f}), max per person {max(per_person.values())} "
        f"(cap {person_cap:.1f}), limit notices {notices}; owner answered in "
        f"{owner_answered - owner_asked:.2f} s (in the inbox after "
        f"{owner_stored - owner_asked:.2f} s); RSS {rss_before:.0f} → {rss_after:.0f} MB "
        f"(peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB); "
        f"inbox {states}"
    )
    assert max(per_person.values()) <= person_cap
    assert total <= global_cap
    assert owner_answered - owner_asked <= OWNER_WITHIN_SECONDS
    assert rss_after - rss_before <= RSS_GROWTH_LIMIT_MB
    assert sum(states.values()) == STRANGERS * EACH + 1
    assert "failed" not in states
    assert notices <= 3 * STRANGERS  # told once per burst, not once per message


TRICKY_NAME = "Eve\u202egnp.exe\u200b **boss** [bank](http://evil.example)\x00/../../etc"


async def test_tricky_names_and_text_stay_literal_in_the_owners_announcement(jobs: Jobs) -> None:
    eve = 66_601
    jobs.tg.add_user(eve, TRICKY_NAME, "\u2066../\u2069", username="eve_\u200b")
    await jobs.start()
    jobs.tg.incoming(
        eve, "**urgent** [pay here](http://evil.example)\n# /allow_666\u202e" + "x" * 5000
    )
    [announcement] = await jobs.replies_to(OWNER_ID)
    [created] = jobs.delivered(OWNER_ID)
    assert not any(ch in announcement for ch in "\u202e\u200b\u2066\u2069\x00")
    assert "**boss** [bank](http://evil.example)" in announcement  # shown, not rendered
    assert "**urgent** [pay here](http://evil.example)" in announcement
    # The only formatting is Jobs' own: the quote around their words (and the /allow_ and
    # /block_ commands Telegram links itself).
    spans = [s for s in entity_spans(created) if s[0].__name__ != "MessageEntityBotCommand"]
    assert [kind.__name__ for kind, _ in spans] == ["MessageEntityBlockquote"]
    assert spans[0][1].startswith(
        "**urgent** [pay here](http://evil.example)\n# /allow_666⟦U+202E⟧"
    )
    assert f"/allow_{eve} lets me talk" in announcement and len(announcement) < 1000
    await jobs.settled()


async def test_malformed_commands_and_huge_messages_fail_nothing(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    mallory = 66_602
    odd = [
        "/",
        "/allow",
        "/allow_",
        "/allow_-1",
        "/allow_99999999999999999999999",
        "/block @",
        "/approve_../../x",
        "/deny_\x00",
        "/clear extra args " + "z" * 1000,
        "/help@someone_else_bot",
        "/\u202eplehe",
        "/" + "a" * 5000,
    ]
    for i, command in enumerate(odd):
        jobs.tg.incoming(mallory + i, command)
        jobs.tg.outgoing(OWNER_ID, command)
    huge = "y" * 100_000  # longer than Telegram allows: the fake, like Telegram, refuses > 4096
    jobs.model.default = lambda call: text(f"got {len(call.last_user_text)} characters")
    jobs.tg.incoming(mallory + 100, huge[:4096])
    await jobs.settled(within=120)
    states = {r["state"] for r in jobs.inbox()}
    assert states <= {"answered", "ignored"}, jobs.describe()
    assert len(jobs.sent_texts(OWNER_ID)) >= len(odd)  # the owner got an answer to each


async def _stored(jobs: Jobs, now: Callable[[], float]) -> float:
    """When the owner's message reached the inbox (committed: Jobs has it)."""
    await jobs.wait_for(lambda: jobs.inbox(OWNER_ID), what="the owner's message stored")
    return now()
