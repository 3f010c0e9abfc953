"""Who may talk: EXTERNAL_USERS, its defaults, announce → /allow or /block, and rate limits."""

from __future__ import annotations

from tests.e2e.conftest import DEDICATED_OWNER_ID, OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import text

ALICE, BOB = 111, 222
EXTERNAL_PROMPT = "talking over Telegram with someone other than the owner"


def _states(jobs: Jobs, chat_id: int) -> list[str]:
    return [r["state"] for r in jobs.inbox(chat_id)]


async def test_all_answers_anyone(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(ALICE, "hello from a stranger")
    assert await jobs.replies_to(ALICE) == ["echo: hello from a stranger"]
    assert EXTERNAL_PROMPT in jobs.model.calls[0].system_text


async def test_contacts_answers_contacts_only(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="contacts")
    jobs.tg.add_user(ALICE, "Alice", contact=True)
    jobs.tg.add_user(BOB, "Bob")
    await jobs.start()
    jobs.tg.incoming(BOB, "I am not in your contacts")
    jobs.tg.incoming(ALICE, "I am a contact")
    assert await jobs.replies_to(ALICE) == ["echo: I am a contact"]
    await jobs.settled()

    assert jobs.sent_texts(BOB) == []
    assert _states(jobs, BOB) == ["ignored"]
    assert jobs.sent_texts(OWNER_ID) == []  # nobody is announced under `contacts`


async def test_none_answers_only_the_owner(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="none")
    await jobs.start()
    jobs.tg.incoming(ALICE, "anyone there?")
    jobs.tg.outgoing(OWNER_ID, "owner here")
    assert await jobs.replies_to(OWNER_ID) == ["echo: owner here"]
    await jobs.settled()

    assert jobs.sent_texts(ALICE) == []
    assert _states(jobs, ALICE) == ["ignored"]
    assert len(jobs.model.calls) == 1


async def test_default_in_the_owners_own_account_is_approved(jobs: Jobs) -> None:
    await jobs.start()
    jobs.tg.incoming(ALICE, "hello?")
    [announcement] = await jobs.replies_to(OWNER_ID)
    await jobs.settled()

    assert f"/allow_{ALICE}" in announcement
    assert jobs.sent_texts(ALICE) == []
    assert jobs.model.calls == []


async def test_default_in_a_dedicated_account_is_all(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID)
    await jobs.start()
    jobs.tg.incoming(ALICE, "hello, assistant")
    jobs.tg.incoming(DEDICATED_OWNER_ID, "hello, it's your owner")
    assert await jobs.replies_to(ALICE) == ["echo: hello, assistant"]
    assert await jobs.replies_to(DEDICATED_OWNER_ID) == ["echo: hello, it's your owner"]
    await jobs.settled()

    [owner_call] = jobs.calls_with("it's your owner")
    assert "Bash" in owner_call.offered_tools
    [alice_call] = jobs.calls_with("hello, assistant")
    assert EXTERNAL_PROMPT in alice_call.system_text
    assert jobs.sent_texts(OWNER_ID) == []  # no Saved Messages traffic in a dedicated account


async def test_dedicated_account_ignores_its_own_saved_messages(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID)
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "a note in the assistant's own Saved Messages")
    jobs.tg.incoming(DEDICATED_OWNER_ID, "ping")
    assert await jobs.replies_to(DEDICATED_OWNER_ID) == ["echo: ping"]
    await jobs.settled()
    assert [r["chat_id"] for r in jobs.inbox()] == [DEDICATED_OWNER_ID]


async def test_a_stranger_is_announced_once_and_answered_once_allowed(jobs: Jobs) -> None:
    jobs.tg.add_user(ALICE, "Alice", username="alice")
    await jobs.start()
    jobs.tg.incoming(ALICE, "hi, it's Alice")
    [announcement] = await jobs.replies_to(OWNER_ID)
    jobs.tg.incoming(ALICE, "hello??")
    await jobs.settled()

    assert "Alice (@alice), id 111" in announcement
    assert "hi, it's Alice" in announcement
    assert len(jobs.sent_texts(OWNER_ID)) == 1  # announced once
    assert _states(jobs, ALICE) == ["ignored", "ignored"]

    jobs.tg.outgoing(OWNER_ID, f"/allow_{ALICE}")
    replies = await jobs.replies_to(OWNER_ID, 2)
    assert replies[1] == "I'll answer Alice from now on."
    # Jobs' announcement in Saved Messages was never taken for a note from the owner.
    assert [r["text"] for r in jobs.inbox(OWNER_ID)] == [f"/allow_{ALICE}"]

    jobs.model.push(text("Hi Alice, how can I help?"))
    jobs.tg.incoming(ALICE, "may I ask something?")
    assert await jobs.replies_to(ALICE) == ["Hi Alice, how can I help?"]
    [call] = jobs.model.calls
    assert EXTERNAL_PROMPT in call.system_text
    assert "may I ask something?" in call.last_user_text
    rows = jobs.query("SELECT key, role FROM sessions")
    assert [(r["key"], r["role"]) for r in rows] == [(f"external:{ALICE}", "external")]


async def test_approved_in_a_dedicated_account_asks_the_owner_in_their_chat(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(tg_user_id=DEDICATED_OWNER_ID, external_users="approved")
    await jobs.start()
    jobs.tg.incoming(DEDICATED_OWNER_ID, "hi")  # the owner has written to the assistant before
    await jobs.replies_to(DEDICATED_OWNER_ID)
    jobs.tg.incoming(ALICE, "hello, assistant")
    [_, announcement] = await jobs.replies_to(DEDICATED_OWNER_ID, 2)
    assert f"/allow_{ALICE}" in announcement

    jobs.tg.incoming(DEDICATED_OWNER_ID, f"/allow_{ALICE}")
    await jobs.replies_to(DEDICATED_OWNER_ID, 3)
    jobs.tg.incoming(ALICE, "and now?")
    assert await jobs.replies_to(ALICE) == ["echo: and now?"]


async def test_a_blocked_person_gets_nothing(jobs: Jobs) -> None:
    await jobs.start()
    jobs.tg.incoming(ALICE, "first contact")
    await jobs.replies_to(OWNER_ID)
    jobs.tg.outgoing(OWNER_ID, f"/block {ALICE}")
    replies = await jobs.replies_to(OWNER_ID, 2)
    assert replies[1] == f"I'll ignore User{ALICE} from now on."

    jobs.tg.incoming(ALICE, "hello again")
    await jobs.settled()
    assert jobs.sent_texts(ALICE) == []
    assert jobs.reactions(ALICE) == []
    assert _states(jobs, ALICE) == ["ignored", "ignored"]
    assert len(jobs.sent_texts(OWNER_ID)) == 2
    assert jobs.model.calls == []


async def test_a_burst_over_the_limit_gets_one_polite_reply(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    jobs.model.default = text("ok")
    await jobs.start()
    for n in range(14):
        jobs.tg.incoming(ALICE, f"spam {n}")
    await jobs.settled()

    polite = [t for t in jobs.sent_texts(ALICE) if "faster than I can answer" in t]
    assert len(polite) == 1
    states = _states(jobs, ALICE)
    assert states.count("answered") == 10  # the burst allowance (10)
    assert states.count("ignored") == 4  # one told, the rest silently
    # The messages over the limit never reached the model.
    seen = "\n".join(t for call in jobs.model.calls for t in call.user_texts)
    assert all(f"spam {n}" not in seen for n in range(10, 14))


async def test_a_burst_during_a_turn_is_limited_too(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    jobs.model.push(text("ok", delay=0.3))
    jobs.model.default = text("ok")
    await jobs.start()
    jobs.tg.incoming(ALICE, "spam 0")
    await jobs.model.wait_calls_async(1)  # the turn runs: what follows could be injected
    for n in range(1, 14):
        jobs.tg.incoming(ALICE, f"spam {n}")
    await jobs.settled()

    polite = [t for t in jobs.sent_texts(ALICE) if "faster than I can answer" in t]
    assert len(polite) == 1
    states = _states(jobs, ALICE)
    assert states.count("answered") == 10
    assert states.count("ignored") == 4
    seen = "\n".join(t for call in jobs.model.calls for t in call.user_texts)
    assert all(f"spam {n}" not in seen for n in range(10, 14))


async def test_the_owner_is_never_rate_limited(jobs: Jobs) -> None:
    jobs.model.default = text("ok")
    await jobs.start()
    for n in range(14):
        jobs.tg.outgoing(OWNER_ID, f"note {n}")
    await jobs.settled()

    assert _states(jobs, OWNER_ID) == ["answered"] * 14
    assert not [t for t in jobs.sent_texts(OWNER_ID) if "faster than I can answer" in t]
