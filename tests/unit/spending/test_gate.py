"""Budgets and the gate over a real database: which budget a charge meets, in the owner's day
and month; /pause; the owner told once per budget and period (and not flooded), the writer
once, the owner's own cap said each time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.errors import TurnRefused
from jobs.i18n.catalogs import Catalogs
from jobs.i18n.translator import Translator, english
from jobs.sessions.charges import Charge
from jobs.spend_terms import Limit
from jobs.spending import BudgetBook, Budgets, PauseSwitch, Periods, Spending
from jobs.spending.gate import MAX_PEOPLE_NOTICES
from jobs.storage import (
    BudgetRepo,
    ControlRepo,
    Database,
    OutboxRepo,
    PeopleRepo,
    TaskRepo,
    UsageRepo,
)
from tests.fakes.clock import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")
OWNER_CHAT = 1000
DEFAULTS = {
    "owner": None,
    "people": Limit(0.5, "usd"),
    "tasks": Limit(2.0, "usd"),
    "triggers": Limit(10_000, "tokens"),
    "month": None,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # 11:00 in Berlin


async def gate(
    db: Database, clock: FakeClock, *, paused: bool = False, owner: str = "en"
) -> Spending:
    words = Catalogs.shipped().translator(owner)

    async def owner_words() -> Translator:
        return words

    book = BudgetBook(defaults=DEFAULTS, repo=BudgetRepo(db))
    await book.load()
    switch = PauseSwitch(repo=ControlRepo(db))
    if paused:
        await switch.pause()
    return Spending(
        budgets=Budgets(book=book, usage=UsageRepo(db), clock=clock, zone=BERLIN),
        pause=switch,
        notices=BudgetRepo(db),
        outbox=OutboxRepo(db),
        owner_chat=OWNER_CHAT,
        people=PeopleRepo(db),
        tasks=TaskRepo(db),
        owner_words=owner_words,
    )


async def spend(db: Database, payer: str, cost: float = 0.0, tokens: int = 0) -> None:
    await UsageRepo(db).record("k", "r", None, "m", payer=payer, cost_usd=cost, input_tokens=tokens)


async def refused(spending: Spending, charge: Charge) -> TurnRefused:
    with pytest.raises(TurnRefused) as caught:
        await spending.admit(charge)
    return caught.value


async def owner_notices(db: Database) -> list[str]:
    rows = await db.fetch_all(
        "SELECT text FROM outbox WHERE chat_id = ? ORDER BY id", (OWNER_CHAT,)
    )
    return [row["text"] for row in rows]


def test_periods_follow_the_owners_zone_and_dst() -> None:
    late = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already Sunday 29 March in Berlin
    periods = Periods.at(late, BERLIN)
    assert periods.day == datetime(2026, 3, 29, tzinfo=BERLIN)
    # Clocks go forward that night: the day is 23 real hours (same-zone subtraction is wall time).
    assert periods.tomorrow.astimezone(UTC) - periods.day.astimezone(UTC) == timedelta(hours=23)
    assert periods.month == datetime(2026, 3, 1, tzinfo=BERLIN)
    assert periods.next_month == datetime(2026, 4, 1, tzinfo=BERLIN)
    december = Periods.at(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), BERLIN)
    assert december.month == datetime(2027, 1, 1, tzinfo=BERLIN)  # 00:30 on New Year's Day


async def test_a_person_stops_at_their_budget_and_the_owner_hears_once(
    db: Database, clock: FakeClock
) -> None:
    await PeopleRepo(db).upsert_seen(7, username="ann", display_name="Ann", is_contact=False)
    spending = await gate(db, clock)
    await spending.admit(Charge.person(7))
    await spend(db, "person:7", 0.3)
    await spending.admit(Charge.person(7))
    await spend(db, "person:7", 0.25)
    first = await refused(spending, Charge.person(7))
    assert not first.paused and not first.monthly and first.period == "2026-11-27"
    await refused(spending, Charge.person(7))
    await spending.admit(Charge.person(8))  # someone else's budget is their own
    [notice] = await owner_notices(db)
    assert notice == (
        "💸 Ann (@ann) reached their daily budget: $0.55 of $0.50 today. I don't answer them "
        "until tomorrow.\n/budget person 7 $1.00 raises it."
    )
    # The writer hears once per period, and nothing about amounts.
    note = await spending.writer_note(7, first, english(), owner=False)
    assert note.startswith("I've done as much as I can for you today")
    assert "$" not in note
    assert await spending.writer_note(7, first, english(), owner=False) == ""
    # The next day (in Berlin) the budget is new.
    clock.set(datetime(2026, 11, 27, 23, 1, tzinfo=UTC))
    await spending.admit(Charge.person(7))


async def test_the_owners_own_budget_and_raising_a_limit(db: Database, clock: FakeClock) -> None:
    spending = await gate(db, clock)
    await spend(db, "owner", 5.0)
    await spending.admit(Charge.owner())  # no owner budget by default
    await spending.budgets.book.set("owner", Limit(4.0, "usd"))
    stopped = await refused(spending, Charge.owner())
    assert await spending.writer_note(1000, stopped, english(), owner=True) == (
        "Not answered: your own daily budget is spent ($5.00 of $4.00 today). /budget owner "
        "$8.00 raises it; it starts again 2026-11-28."
    )
    assert await owner_notices(db) == []  # told in the reply to their own message instead
    await spending.budgets.book.set("person:7", Limit(1.0, "usd"))
    await spend(db, "person:7", 1.0)
    await refused(spending, Charge.person(7))
    await spending.budgets.book.set("person:7", Limit(2.0, "usd"))  # the owner raises it
    await spending.admit(Charge.person(7))
    await spend(db, "person:7", 1.5)
    await refused(spending, Charge.person(7))
    assert len(await owner_notices(db)) == 2  # once per limit


async def test_notices_speak_the_owners_and_the_writers_language(
    db: Database, clock: FakeClock
) -> None:
    """The owner's notice in the owner's language with the name plain and the /budget command
    as typed; the writer's note in theirs; the owner's own refusal in the owner's."""
    await PeopleRepo(db).upsert_seen(7, username="ann", display_name="*Ann*", is_contact=False)
    spending = await gate(db, clock, owner="ru")
    await spend(db, "person:7", 0.55)
    first = await refused(spending, Charge.person(7))
    [notice] = await owner_notices(db)
    assert notice == (
        "💸 *Ann* (@ann) исчерпал(а) дневной бюджет: $0.55 из $0.50 сегодня. До завтра я ему "
        "(ей) не отвечаю.\n/budget person 7 $1.00 поднимет его."
    )
    russian = Catalogs.shipped().translator("ru")
    assert await spending.writer_note(7, first, russian, owner=False) == (
        "На сегодня я сделал для вас всё, что мог, поэтому остановлюсь. Пожалуйста, напишите "
        "завтра."
    )
    await spending.budgets.book.set("owner", Limit(20_000, "tokens"))
    await spend(db, "owner", tokens=25_000)
    stopped = await refused(spending, Charge.owner())
    assert await spending.writer_note(1000, stopped, russian, owner=True) == (
        "Без ответа: ваш собственный дневной бюджет исчерпан (25k токенов из 20k токенов "
        "сегодня). /budget owner 40k tokens поднимет его; он начнётся заново 2026-11-28."
    )


async def test_tasks_triggers_in_tokens_and_the_month(db: Database, clock: FakeClock) -> None:
    task = await TaskRepo(db).create("Book a table")
    spending = await gate(db, clock)
    await spend(db, f"task:{task.id}", 2.0)
    await refused(spending, Charge.task(task.id))
    await spend(db, "trigger:heartbeat", tokens=6_000)
    await spending.admit(Charge.trigger("schedule:1"))
    await spend(db, "trigger:schedule:1", tokens=4_000)  # every trigger counts together
    await refused(spending, Charge.trigger("channel:-100"))
    await spending.budgets.book.set("month", Limit(3.0, "usd"))
    await spend(db, "owner", 1.5)
    month = await refused(spending, Charge.person(9))
    assert month.monthly and month.period == "2026-11"
    await spending.admit(Charge.owner())  # the month's cap never stops the owner's messages
    notices = await owner_notices(db)
    assert notices[0].startswith("💸 Task #1 «Book a table» reached its daily budget: $2.00")
    assert notices[1].startswith(
        "💸 Schedules, the heartbeat and watched channels reached their daily budget: "
        "10k tokens of 10k tokens today."
    )
    assert notices[2] == (
        "💸 This month's cap is reached: $3.50 of $3.00. Until 2026-12-01 only your own "
        "messages are answered.\n/budget month $6.00 raises it."
    )
    note = await spending.writer_note(9, month, english(), owner=False)
    assert note == "I can't take on any more right now, sorry. Please write again later."


async def test_the_owner_hears_of_a_few_people_then_once_of_more(
    db: Database, clock: FakeClock
) -> None:
    spending = await gate(db, clock)
    people = range(100, 100 + MAX_PEOPLE_NOTICES + 5)
    for person in people:
        await spend(db, f"person:{person}", 1.0)
        await refused(spending, Charge.person(person))
        await refused(spending, Charge.person(person))
    notices = await owner_notices(db)
    assert len(notices) == MAX_PEOPLE_NOTICES + 1
    assert notices[-1].startswith("💸 More people reached their daily budget today")


async def test_pause_holds_all_but_the_owner_and_survives_a_reload(
    db: Database, clock: FakeClock
) -> None:
    spending = await gate(db, clock, paused=True)
    for charge in (Charge.person(7), Charge.task(1), Charge.trigger("heartbeat")):
        held = await refused(spending, charge)
        assert held.paused
        assert (
            await spending.writer_note(7, held, english(), owner=False) == ""
        )  # held, not refused
    await spending.admit(Charge.owner())
    reloaded = await gate(db, clock)  # a restart: the switch is read from the database
    await reloaded.pause.load()
    assert reloaded.pause.paused
    assert await reloaded.pause.resume()
    await reloaded.admit(Charge.person(7))
    assert await owner_notices(db) == []
