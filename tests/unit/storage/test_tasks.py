from __future__ import annotations

import pytest

from jobs.errors import StorageError
from jobs.storage import ANY, Database, PeopleRepo, TaskRepo, TaskStatus
from tests.unit.storage.conftest import START, FakeClock


async def _people(db: Database, *user_ids: int) -> None:
    for user_id in user_ids:
        await PeopleRepo(db).upsert_seen(user_id)


async def test_create_and_get(db: Database) -> None:
    await _people(db, 7)
    tasks = TaskRepo(db)
    due = START.replace(day=30)
    task = await tasks.create(
        "Book a table",
        description="for four",
        counterpart_id=7,
        skill="booking",
        context="Friday",
        due_at=due,
    )
    assert task.status is TaskStatus.OPEN
    assert (task.title, task.counterpart_id, task.assignee_id, task.due_at) == (
        "Book a table",
        7,
        None,
        due,
    )
    assert await tasks.get(task.id) == task
    assert await tasks.get(999) is None


async def test_unknown_person_is_refused(db: Database) -> None:
    with pytest.raises(StorageError, match="FOREIGN KEY"):
        await TaskRepo(db).create("x", assignee_id=12345)


async def test_update_allowed_columns(db: Database, clock: FakeClock) -> None:
    tasks = TaskRepo(db)
    task = await tasks.create("t")
    clock.advance(minutes=1)
    updated = await tasks.update(
        task.id, status="in_progress", next_step="call back", next_step_at=clock()
    )
    assert updated is not None
    assert updated.status is TaskStatus.IN_PROGRESS
    assert (updated.next_step, updated.next_step_at, updated.updated_at) == (
        "call back",
        clock(),
        clock(),
    )
    cleared = await tasks.update(task.id, next_step=None, next_step_at=None)
    assert cleared is not None and cleared.next_step is None
    assert await tasks.update(task.id) == cleared
    assert await tasks.update(999, title="x") is None


async def test_update_rejects_unknown_columns_and_bad_values(db: Database) -> None:
    tasks = TaskRepo(db)
    task = await tasks.create("t")
    with pytest.raises(ValueError, match="created_at"):
        await tasks.update(task.id, created_at=START)
    with pytest.raises(ValueError, match="id = 1; DROP"):
        await tasks.update(task.id, **{"id = 1; DROP TABLE tasks; --": 1})
    with pytest.raises(ValueError):
        await tasks.update(task.id, status="finished")
    with pytest.raises(ValueError, match="due_at"):
        await tasks.update(task.id, due_at="tomorrow")
    unchanged = await tasks.get(task.id)
    assert unchanged == task


async def test_list_by_assignee_and_status(db: Database) -> None:
    await _people(db, 7, 8)
    tasks = TaskRepo(db)
    own = await tasks.create("own")
    sevens = await tasks.create("seven's", assignee_id=7)
    done = await tasks.create("done", assignee_id=7)
    await tasks.update(done.id, status=TaskStatus.DONE)
    assert [t.id for t in await tasks.list()] == [own.id, sevens.id, done.id]
    assert [t.id for t in await tasks.list(assignee_id=None)] == [own.id]
    assert [t.id for t in await tasks.list(assignee_id=7)] == [sevens.id, done.id]
    assert [t.id for t in await tasks.list(assignee_id=8)] == []
    open_sevens = await tasks.list(assignee_id=7, statuses=[TaskStatus.OPEN])
    assert [t.id for t in open_sevens] == [sevens.id]
    assert [t.id for t in await tasks.list(assignee_id=ANY, statuses=[])] == []
    assert [t.id for t in await tasks.active()] == [own.id, sevens.id]


async def test_active_for_counterpart_is_the_most_recent_open_one(
    db: Database, clock: FakeClock
) -> None:
    await _people(db, 7)
    tasks = TaskRepo(db)
    older = await tasks.create("older", counterpart_id=7)
    clock.advance(minutes=1)
    newer = await tasks.create("newer", counterpart_id=7)
    found = await tasks.active_for_counterpart(7)
    assert found is not None and found.id == newer.id
    await tasks.update(newer.id, status=TaskStatus.DONE)
    found = await tasks.active_for_counterpart(7)
    assert found is not None and found.id == older.id
    await tasks.update(older.id, status=TaskStatus.BLOCKED)
    assert await tasks.active_for_counterpart(7) is None


async def test_set_session_id(db: Database) -> None:
    tasks = TaskRepo(db)
    task = await tasks.create("t")
    assert await tasks.set_session_id(task.id, "sess-1")
    stored = await tasks.get(task.id)
    assert stored is not None and stored.session_id == "sess-1"
    assert not await tasks.set_session_id(999, "x")
