from __future__ import annotations

from jobs.storage import Database, SessionRepo
from tests.unit.storage.conftest import START, FakeClock


async def test_upsert_get_and_touch(db: Database, clock: FakeClock) -> None:
    sessions = SessionRepo(db)
    created = await sessions.upsert("owner", role="owner", cwd="/workspace")
    assert (created.role, created.cwd, created.sdk_session_id, created.summary) == (
        "owner",
        "/workspace",
        None,
        "",
    )
    assert created.created_at == created.last_used_at == START
    clock.advance(minutes=5)
    assert await sessions.touch("owner")
    touched = await sessions.get("owner")
    assert touched is not None and touched.last_used_at == clock()
    assert await sessions.get("nobody") is None
    assert not await sessions.touch("nobody")


async def test_sdk_session_id_kept_unless_cwd_changes(db: Database) -> None:
    sessions = SessionRepo(db)
    await sessions.upsert("task:1", role="task", cwd="/w/tasks/1")
    assert await sessions.set_sdk_session_id("task:1", "abc")
    same = await sessions.upsert("task:1", role="task", cwd="/w/tasks/1")
    assert same.sdk_session_id == "abc"
    moved = await sessions.upsert("task:1", role="task", cwd="/w/elsewhere")
    assert moved.sdk_session_id is None  # a transcript cannot follow a new cwd


async def test_clear_forgets_id_and_summary(db: Database) -> None:
    sessions = SessionRepo(db)
    await sessions.upsert("external:7", role="external", cwd="/w/people/7")
    await sessions.set_sdk_session_id("external:7", "abc")
    assert await sessions.set_summary("external:7", "talked about lunch")
    stored = await sessions.get("external:7")
    assert stored is not None and stored.summary == "talked about lunch"
    assert await sessions.clear("external:7")
    cleared = await sessions.get("external:7")
    assert cleared is not None
    assert (cleared.sdk_session_id, cleared.summary, cleared.cwd) == (None, "", "/w/people/7")


async def test_list_most_recent_first(db: Database, clock: FakeClock) -> None:
    sessions = SessionRepo(db)
    await sessions.upsert("owner", role="owner", cwd="/w")
    clock.advance(seconds=1)
    await sessions.upsert("external:7", role="external", cwd="/w/7")
    clock.advance(seconds=1)
    await sessions.touch("owner")
    assert [s.key for s in await sessions.list()] == ["owner", "external:7"]
