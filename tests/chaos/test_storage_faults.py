"""A real `jobs run` while another program locks its database, and while its disk is full.

The lock is held by a second process (`BEGIN EXCLUSIVE` on DATA_DIR/db.sqlite): shorter than
the busy timeout (5 s) everything just waits; longer, the writes fail with StorageBusy and
are tried again once it is free: nothing is lost, nothing is answered twice, Jobs runs on.

The full disk is real: the child runs in its own mount namespace (`unshare -m`, root only)
with a small tmpfs on WORKSPACE_DIR, which the test fills and empties through
/proc/<pid>/root. Nothing is mounted where anyone else can see it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
from telethon.tl import functions, types

from jobs.storage.database import BUSY_TIMEOUT
from tests.chaos.conftest import OWNER_ID, Child, Rig, wait_until
from tests.fakes.anthropic import Call, Turn, text, tool_use
from tests.fakes.telegram import FakeTelegram

NOTES = ("first note", "second note")

LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
db.close()
"""


def noted(call: Call) -> Turn:
    said = call.last_user_text
    for note in NOTES:
        if note in said:
            return text(f"Noted: {note}.")
    return text(f"unexpected prompt: {said[-200:]}")


@asynccontextmanager
async def locked(db: Path) -> AsyncIterator[None]:
    """Another process holds `db`'s write lock (BEGIN EXCLUSIVE) inside the block."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOCKER,
        str(db),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # Jobs' own writes are short: the lock is had within SQLite's default 5 s wait.
        assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"locked\n"
        yield
        proc.stdin.write(b"done\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def started(rig: Rig) -> Child:
    """`jobs run`, once its start-up writes are done (the triggers start last): a lock taken
    from here on meets only what the test makes Jobs do."""
    child = await rig.start_jobs()
    await rig.logged(child, "INFO jobs.triggers.manager: triggers: ")
    return child


def pause_send(rig: Rig, reply: str) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold the first send of `reply` until `go` is set; `reached` is set when it is held."""
    reached, go = asyncio.Event(), asyncio.Event()
    send = rig.tg._on_messages_send_message

    async def holding(req: Any) -> Any:
        if req.message == reply and not reached.is_set():
            reached.set()
            await go.wait()
        return send(req)

    rig.tg.handle(functions.messages.SendMessageRequest, holding)
    return reached, go


def turn_wound_down(rig: Rig) -> bool:
    """The turn's bookkeeping after its reply (memory log indexed, usage written) is done:
    from here only the outbox writes (a read does not wait for a lock in WAL mode)."""
    with closing(sqlite3.connect(rig.tmp_path / "data" / "db.sqlite")) as db:
        usage = db.execute("SELECT COUNT(*) FROM usage").fetchone()[0]
        logged = db.execute(
            "SELECT COUNT(*) FROM memory_files WHERE path LIKE 'memory/conversations/%'"
        ).fetchone()[0]
    return bool(usage and logged)


async def stop(rig: Rig, child: Child) -> None:
    await rig.settled()
    assert child.proc.returncode is None, child.log()[-3000:]  # survived the lock
    child.signal(signal.SIGTERM)
    assert await child.exit_code() == 0, child.log()[-3000:]


async def test_a_lock_shorter_than_the_busy_timeout_only_delays(rig: Rig) -> None:
    rig.model.default = noted
    child = await started(rig)
    async with locked(rig.tmp_path / "data" / "db.sqlite"):
        rig.tg.outgoing(OWNER_ID, "first note")
        await asyncio.sleep(BUSY_TIMEOUT / 2.5)  # the other program's short transaction
    await wait_until(lambda: rig.created("Noted: first note."), what="the reply")
    await stop(rig, child)

    assert len(rig.sends("Noted: first note.")) == 1
    assert await rig.inbox_states() == {"answered": 1}
    assert "locked by another program" not in child.log()


async def test_a_message_that_arrives_during_a_long_lock_is_stored_and_answered(
    rig: Rig,
) -> None:
    rig.model.default = noted
    child = await started(rig)
    async with locked(rig.tmp_path / "data" / "db.sqlite"):
        sent = rig.tg.outgoing(OWNER_ID, "first note")
        await rig.logged(child, "Storing message")  # storing it gave up once, and waits
        await asyncio.sleep(2)  # the other program's transaction: about 7 s in all
    await wait_until(lambda: rig.created("Noted: first note."), what="the reply")
    await stop(rig, child)

    assert len(rig.sends("Noted: first note.")) == 1
    assert await rig.inbox_states() == {"answered": 1}
    log = child.log()
    assert f"{rig.tmp_path / 'data' / 'db.sqlite'} is locked by another program" in log
    assert f"Storing message {sent.id} in chat {OWNER_ID}: done; the database was locked" in log
    assert "Traceback" not in log, log[-4000:]


async def test_a_reply_sent_during_a_long_lock_is_recorded_and_not_repeated(rig: Rig) -> None:
    rig.model.default = noted
    child = await started(rig)
    reached, go = pause_send(rig, "Noted: first note.")
    rig.tg.outgoing(OWNER_ID, "first note")
    await asyncio.wait_for(reached.wait(), 20)
    await wait_until(lambda: turn_wound_down(rig), what="the turn's usage and memory log")
    async with locked(rig.tmp_path / "data" / "db.sqlite"):
        go.set()  # Telegram makes the message; Jobs cannot mark its row sent
        await rig.logged(child, "Sending the outbox: ")
        await asyncio.sleep(2)
    await wait_until(lambda: "Sending the outbox: done" in child.log(), what="the outbox going on")
    rig.tg.outgoing(OWNER_ID, "second note")
    await wait_until(lambda: rig.created("Noted: second note."), what="the next reply")
    await stop(rig, child)

    lost, resent = rig.sends("Noted: first note.")
    assert lost.random_id == resent.random_id  # sent again once free: Telegram refused it
    assert len(rig.created("Noted: first note.")) == 1
    assert [call.last_user_text.count("first note") for call in rig.model.calls] == [1, 0]
    assert await rig.inbox_states() == {"answered": 2}
    assert await rig.outbox_states() == ["sent", "sent"]
    assert "Traceback" not in child.log(), child.log()[-4000:]


# -- a full disk ------------------------------------------------------------------------------

MEMORY = "# Memory\n\n## Notes\n\n- the old entry, whole\n"
DISK_FULL = "The disk is full"
REPORT = b"%PDF " * 4000  # 20 kB: five pages of the tmpfs


def remembering(call: Call) -> Turn:
    """`remember: X` → memory_write X; the tool's result is the reply, word for word."""
    if results := call.tool_results:
        content = results[0]["content"]
        said = content if isinstance(content, str) else " ".join(b["text"] for b in content)
        return text(f"memory_write said: {said}")
    asked = call.last_user_text
    if "remember: " in asked:
        entry = asked.rsplit("remember: ", 1)[1].strip()
        return tool_use("mcp__memory__memory_write", {"action": "add", "text": entry})
    if "saved at" in asked:
        return text("Got the file.")
    return text(f"unexpected prompt: {asked[-200:]}")


def document(tg: FakeTelegram, name: str, data: bytes) -> Any:
    doc = tg._document(
        next(tg._id_seq), 7, "application/pdf", [types.DocumentAttributeFilename(name)]
    )
    doc.size = len(data)
    tg.files[doc.id] = data
    return types.MessageMediaDocument(document=doc)


async def cannot_mount(folder: Path) -> str | None:
    """Why a tmpfs cannot be mounted on `folder` in a mount namespace (None: it can)."""
    if not shutil.which("unshare"):
        return "unshare is not installed"
    probe = await asyncio.create_subprocess_exec(
        "unshare", "-m", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await probe.communicate()
    return None if probe.returncode == 0 else err.decode(errors="replace").strip()


async def start_on_small_disk(rig: Rig, size_kb: int) -> tuple[Child, Path]:
    """`jobs run` with WORKSPACE_DIR on a tmpfs of `size_kb` of its own; the workspace as the
    test sees it (through the child's root)."""
    workspace = Path(rig.env["WORKSPACE_DIR"])
    await asyncio.to_thread(workspace.mkdir, parents=True, exist_ok=True)  # the mount point
    if (refused := await cannot_mount(workspace)) is not None:
        pytest.skip(f"a real full disk needs a tmpfs in a mount namespace: {refused}")
    log_path = rig.tmp_path / f"jobs-{len(rig.children) + 1}.log"
    script = f'mount -t tmpfs -o size={size_kb}k tmpfs "$WS" && exec "$PY" -m jobs run'
    env = {**rig.env, "WS": str(workspace), "PY": sys.executable}
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            "unshare", "-m", "sh", "-c", script,
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=rig.tmp_path, env=env, start_new_session=True,
        )  # fmt: skip
    child = Child(proc, log_path)
    rig.children.append(child)
    await rig.logged(child, "Logged in as")
    return child, Path(f"/proc/{child.pid}/root") / workspace.relative_to("/")


def fill(folder: Path) -> Path:
    """Fill the disk `folder` is on, to the last byte; the file that does it."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while out.write(b"\0" * 4096):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def leftovers(workspace: Path) -> list[str]:
    """Temp files of atomic writes and half downloads."""
    return [p.name for p in workspace.rglob("*") if p.name.endswith((".tmp", ".part"))]


async def test_a_full_disk_changes_nothing_says_so_and_recovers(rig: Rig) -> None:
    rig.model.default = remembering
    child, workspace = await start_on_small_disk(rig, size_kb=512)
    (workspace / "MEMORY.md").write_text(MEMORY)
    filler = fill(workspace)

    rig.tg.outgoing(OWNER_ID, "remember: the dentist is on Friday")
    [said] = await wait_until(lambda: rig.sends_containing("memory_write said"), what="reply")
    assert DISK_FULL in said and "MEMORY.md was not changed" in said
    assert (workspace / "MEMORY.md").read_text() == MEMORY
    await rig.settled()
    os.truncate(filler, filler.stat().st_size - 2 * 4096)  # room for part of the file only
    rig.tg.outgoing(OWNER_ID, "", media=document(rig.tg, "report.pdf", REPORT))
    [refused] = await wait_until(lambda: rig.sends_containing("save your file"), what="refusal")
    assert refused.startswith(f"{DISK_FULL}, so I couldn't save your file report.pdf.")
    assert leftovers(workspace) == [] and not list(workspace.glob("uploads/report*"))
    await rig.settled()
    assert await rig.inbox_states() == {"answered": 2}

    filler.unlink()  # space again: both work
    rig.tg.outgoing(OWNER_ID, "remember: the dentist moved to Monday")
    await wait_until(lambda: rig.sends_containing("MEMORY.md updated"), what="the update")
    assert "- the dentist moved to Monday" in (workspace / "MEMORY.md").read_text()
    assert "- the old entry, whole" in (workspace / "MEMORY.md").read_text()
    rig.tg.outgoing(OWNER_ID, "", media=document(rig.tg, "report.pdf", REPORT))
    await wait_until(lambda: rig.sends("Got the file."), what="the file taken")
    assert (workspace / "uploads" / "report.pdf").read_bytes() == REPORT
    assert leftovers(workspace) == []
    await stop(rig, child)
    assert await rig.inbox_states() == {"answered": 4}
    assert "Traceback" not in child.log(), child.log()[-4000:]
