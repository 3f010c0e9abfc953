"""ModelGate (pure, injected clock): backoff, the probe, one notice per chat, give-up age;
judge: which turn endings are outages; notice: strangers hear nothing of the cause."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.config import load_settings
from jobs.conversation.outage import GIVE_UP_SECONDS, MAX_WAIT_SECONDS, NOTICE, ModelGate, notice
from jobs.conversation.outcome import OutageKind, judge
from jobs.errors import CliCrashed, ConfigError, RoleViolation, SessionError, TurnTimeout
from jobs.i18n.translator import english
from jobs.sessions.replies import ErrorKind, Reply, Usage
from jobs.storage import InboxState
from tests.fakes.clock import FakeClock

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OWNER, ALICE, BOB = 1000, 111, 222


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def gate(clock: FakeClock, first_wait: float = 30) -> ModelGate:
    return ModelGate(first_wait=first_wait, clock=clock)


def test_an_open_gate_lets_every_turn_through(clock: FakeClock) -> None:
    model = gate(clock)
    assert not model.is_down
    assert model.admit(OWNER) is None
    assert model.admit(ALICE) is None
    assert not model.answered()  # it was not down


def test_the_wait_doubles_from_the_first_and_stops_at_ten_minutes(clock: FakeClock) -> None:
    model = gate(clock)
    waits = []
    for _ in range(8):
        hold = model.failed(OWNER, "server_error")
        waits.append((hold.until - clock()).total_seconds())
        clock.set(hold.until)
        assert model.admit(OWNER) is None  # the retry time came: this turn probes
    assert waits == [30, 60, 120, 240, 480, 600, 600, 600]
    assert MAX_WAIT_SECONDS == 600


def test_while_down_turns_wait_until_the_retry_time_then_one_probes(clock: FakeClock) -> None:
    model = gate(clock)
    first = model.failed(OWNER, "server_error")
    clock.advance(seconds=10)
    held = model.admit(ALICE)
    assert held is not None and held.until == first.until
    clock.set(first.until)
    assert model.admit(OWNER) is None  # the probe
    during = model.admit(ALICE)  # while the probe runs: as long as its failure would mean
    assert during is not None and during.until == first.until + timedelta(seconds=60)
    after = model.failed(OWNER, "server_error")  # the probe failed
    assert after.until == first.until + timedelta(seconds=60)
    assert model.is_down


def test_a_turn_started_before_the_outage_does_not_lengthen_the_wait(clock: FakeClock) -> None:
    model = gate(clock)
    first = model.failed(OWNER, "server_error")
    second = model.failed(ALICE, "server_error")  # it was already running: same retry
    assert second.until == first.until
    clock.set(first.until)
    assert model.admit(BOB) is None
    assert model.failed(BOB, "server_error").until == clock() + timedelta(seconds=60)


def test_each_chat_is_told_once_per_outage(clock: FakeClock) -> None:
    model = gate(clock)
    assert model.failed(OWNER, "server_error").notify
    assert not model.failed(OWNER, "server_error").notify
    held = model.admit(ALICE)
    assert held is not None and held.notify
    again = model.admit(ALICE)
    assert again is not None and not again.notify
    clock.advance(seconds=30)
    assert model.admit(BOB) is None  # the probe
    assert model.failed(BOB, "server_error").notify  # Bob's first wait in this outage
    assert not model.failed(OWNER, "server_error").notify

    assert model.answered()  # the outage is over
    assert not model.is_down
    assert model.admit(OWNER) is None
    assert model.failed(OWNER, "server_error").notify  # a new outage: told again


def test_the_kind_of_the_latest_failure_is_what_waiting_turns_get(clock: FakeClock) -> None:
    model = gate(clock)
    model.failed(OWNER, "rate_limit")
    held = model.admit(ALICE)
    assert held is not None and held.kind == "rate_limit"
    clock.advance(seconds=30)
    assert model.admit(OWNER) is None
    assert model.failed(OWNER, "billing_error").kind == "billing_error"


def test_an_outage_before_a_restart_is_restored(clock: FakeClock) -> None:
    model = gate(clock)
    retry = START + timedelta(seconds=20)
    model.restore([OWNER, ALICE], retry)
    assert model.is_down
    held = model.admit(OWNER)
    assert held is not None and held.until == retry and not held.notify  # told before
    bob = model.admit(BOB)
    assert bob is not None and bob.notify
    clock.set(retry)
    assert model.admit(ALICE) is None  # the probe
    assert model.answered()


def test_nothing_deferred_before_a_restart_leaves_the_gate_open(clock: FakeClock) -> None:
    model = gate(clock)
    model.restore([], None)
    assert not model.is_down
    assert model.admit(OWNER) is None


def test_a_message_is_given_up_after_a_day_of_waiting(clock: FakeClock) -> None:
    model = gate(clock)
    assert GIVE_UP_SECONDS == 24 * 3600
    deferred_at = clock()
    assert not model.expired(None)
    clock.advance(hours=23, minutes=59)
    assert not model.expired(deferred_at)
    clock.advance(minutes=1)
    assert model.expired(deferred_at)


def test_the_first_wait_must_be_positive(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        gate(clock, first_wait=0)


def test_strangers_never_hear_the_cause(clock: FakeClock) -> None:
    kinds: list[OutageKind] = [
        "server_error",
        "rate_limit",
        "authentication_failed",
        "billing_error",
        "cli_failed",
    ]
    assert {notice(kind, english(), owner=False) for kind in kinds} == {NOTICE}
    assert "saved" in NOTICE and "as soon as it's back" in NOTICE
    assert "jobs login" in notice("authentication_failed", english(), owner=True)
    assert "billing" in notice("billing_error", english(), owner=True)
    assert notice("server_error", english(), owner=True) == NOTICE


async def _ended(result: Reply | BaseException) -> asyncio.Task[Reply]:
    async def turn() -> Reply:
        if isinstance(result, BaseException):
            raise result
        return result

    task = asyncio.create_task(turn())
    await asyncio.wait([task])
    return task


def _failed_reply(kind: ErrorKind) -> Reply:
    return Reply("Sorry.", "sid", Usage(), is_error=True, error_kind=kind)


@pytest.mark.parametrize("kind", ["server_error", "rate_limit", "authentication_failed"])
async def test_model_unavailable_replies_are_outages(kind: ErrorKind) -> None:
    outcome = judge(await _ended(_failed_reply(kind)))
    assert (outcome.outage, outcome.state, outcome.reached_model) == (
        kind,
        InboxState.PENDING,
        False,
    )


async def test_claude_code_failing_is_an_outage_but_a_hang_or_a_role_breach_is_not() -> None:
    cli = judge(await _ended(SessionError("Claude Code did not start")))
    assert cli.outage == "cli_failed"
    crash = judge(await _ended(CliCrashed("Claude Code stopped unexpectedly")))
    assert crash.outage == "cli_crashed"  # counted per message: it may be the message's doing
    hang = judge(await _ended(TurnTimeout(20)))
    assert (hang.outage, hang.state) == (None, InboxState.FAILED)
    assert hang.text.startswith("That took longer than 20 s")
    breach = judge(await _ended(RoleViolation("external", frozenset({"Bash"}))))
    assert (breach.outage, breach.state) == (None, InboxState.FAILED)


async def test_answers_and_the_apis_own_refusals_show_the_model_is_up() -> None:
    answered = judge(await _ended(Reply("hi", "sid", Usage())))
    assert (answered.text, answered.state, answered.reached_model) == (
        "hi",
        InboxState.ANSWERED,
        True,
    )
    refused = judge(await _ended(_failed_reply("invalid_request")))
    assert (refused.state, refused.outage, refused.reached_model) == (
        InboxState.FAILED,
        None,
        True,
    )
    # Made without the model (an attachment too large): says nothing about it.
    local = judge(await _ended(Reply("too large", None, Usage())))
    assert (local.state, local.reached_model) == (InboxState.ANSWERED, False)
    stopped = judge(await _ended(Reply("half", "sid", Usage(), interrupted=True)))
    assert (stopped.text, stopped.reached_model) == ("half\n\n(stopped)", False)


def test_the_first_wait_is_a_setting_of_its_own(tmp_path: Path) -> None:
    assert load_settings(None, data_dir=tmp_path).model_retry_seconds == 30
    assert load_settings(None, model_retry_seconds="1.5").model_retry_seconds == 1.5
    with pytest.raises(ConfigError, match="MODEL_RETRY_SECONDS"):
        load_settings(None, model_retry_seconds=0)
