from __future__ import annotations

from jobs.storage import Access, Database, PeopleRepo
from tests.unit.storage.conftest import START, FakeClock


async def test_upsert_creates_then_refreshes_but_keeps_access(
    db: Database, clock: FakeClock
) -> None:
    people = PeopleRepo(db)
    ann = await people.upsert_seen(
        7, username="@ann", display_name="Ann", phone="+100", is_contact=True
    )
    assert (ann.username, ann.display_name, ann.phone, ann.is_contact) == (
        "ann",
        "Ann",
        "+100",
        True,
    )
    assert (ann.access, ann.announced_at, ann.created_at) == (Access.UNKNOWN, None, START)

    await people.set_access(7, Access.ALLOWED)
    clock.advance(minutes=1)
    again = await people.upsert_seen(7, username=None, display_name="", is_contact=False)
    assert again.access is Access.ALLOWED
    assert again.username is None  # the username was dropped on Telegram
    assert (again.display_name, again.phone) == ("Ann", "+100")  # unknown now, known before
    assert (again.created_at, again.updated_at) == (START, clock())
    assert await people.get(7) == again
    assert await people.get(8) is None


async def test_find_by_username_ignores_case_and_at(db: Database) -> None:
    people = PeopleRepo(db)
    await people.upsert_seen(7, username="AnnLee")
    found = await people.find_by_username("@annlee")
    assert found is not None and found.user_id == 7
    assert await people.find_by_username("bob") is None
    assert await people.find_by_username("@") is None


async def test_set_access_for_unknown_user(db: Database) -> None:
    assert await PeopleRepo(db).set_access(99, Access.BLOCKED) is None


async def test_mark_announced_only_once(db: Database) -> None:
    people = PeopleRepo(db)
    await people.upsert_seen(7, display_name="Ann")
    assert await people.mark_announced(7)
    assert not await people.mark_announced(7)
    person = await people.get(7)
    assert person is not None
    assert person.access is Access.PENDING
    assert person.announced_at == START
    assert not await people.mark_announced(99)


async def test_mark_announced_keeps_a_decision(db: Database) -> None:
    people = PeopleRepo(db)
    await people.upsert_seen(7)
    await people.set_access(7, Access.ALLOWED)
    assert await people.mark_announced(7)
    person = await people.get(7)
    assert person is not None and person.access is Access.ALLOWED


async def test_list_filters_by_access(db: Database, clock: FakeClock) -> None:
    people = PeopleRepo(db)
    for user_id in (1, 2, 3):
        await people.upsert_seen(user_id)
        clock.advance(seconds=1)
    await people.set_access(2, Access.BLOCKED)
    assert [p.user_id for p in await people.list()] == [2, 3, 1]
    assert [p.user_id for p in await people.list(Access.BLOCKED)] == [2]
    assert [p.user_id for p in await people.list(Access.UNKNOWN)] == [3, 1]
