"""A whole Jobs (`run_telegram`) on the fake Telegram and the scripted model, in the test's loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon import utils
from telethon.tl import functions, types

from jobs.config import Settings, load_settings
from jobs.modes import run_telegram
from jobs.storage import Database, InboxRepo, OutboxRepo
from jobs.telegram.bot import bot_client
from jobs.telegram.client import make_client
from jobs.telegram.outbound import derive_random_id
from tests.fakes.anthropic import Call, FakeAnthropic
from tests.fakes.telegram import FakeTelegram

OWNER_ID = 1000  # the fake account's own id: Jobs runs in the owner's own account
DEDICATED_OWNER_ID = 2000  # the owner when Jobs runs in an account of its own (me = 1000)
HASH = "0123456789abcdef0123456789abcdef"
FAST_ENV = {"CLAUDE_CODE_MAX_RETRIES": "1", "API_TIMEOUT_MS": "4000"}
"""CLI knobs for quick failure tests: one retry (≈ 0.5 s backoff), 4 s per request."""


_SENDS = (functions.messages.SendMessageRequest, functions.messages.SendMediaRequest)


@dataclass
class Jobs:
    """A running Jobs and the means to talk to it."""

    settings: Settings
    tg: FakeTelegram
    model: FakeAnthropic
    env: dict[str, str]
    task: asyncio.Task[int | None] | None = None
    """`run_telegram` running: it returns its exit code (RESTART_EXIT_CODE after /update)."""
    stderr: list[str] = field(default_factory=list)
    client: Any = None
    """The TelegramClient of the current run (set by `start`)."""
    bot_tg: FakeTelegram | None = None
    """The companion bot's world (tests/fakes/bot.py), when TG_BOT_TOKEN is set."""

    async def start(self) -> None:
        client = self.client = self.tg.attach(make_client(self.settings))
        bot = self.bot_tg.attach(bot_client(self.settings)) if self.bot_tg else None
        self.task = asyncio.create_task(
            run_telegram(self.settings, extra_env=self.env, client=client, bot=bot)
        )
        # connect() has returned once the update loop runs: before that, on a first start,
        # Telethon is still fetching its update state and would drop a message pushed now
        # as already seen (true of Telegram too; a restart catches up from the saved state).
        await self.wait_for(
            lambda: client.is_connected() and client._updates_handle is not None,
            what="connected",
        )

    async def stop(self) -> None:
        """Cancel `run_telegram` (as SIGTERM would); re-raise it if it had crashed."""
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            [outcome] = await asyncio.gather(task, return_exceptions=True)
            if isinstance(outcome, Exception):
                raise outcome

    async def restart(self) -> None:
        """Stop, then start again on the same DATA_DIR (database and Telethon session)."""
        await self.stop()
        await self.start()

    # -- what Telegram saw ----------------------------------------------------------------

    def answered(self, chat_id: int) -> list[int]:
        """The message ids of the inbox rows that Jobs' replies in `chat_id` answer, in the
        order they were sent (a reply quotes its message only when others came in between)."""
        rows = self.query(
            "SELECT i.msg_id FROM outbox AS o JOIN inbox AS i ON o.inbox_id = i.id"
            " WHERE o.chat_id = ? AND o.seq = 0 AND o.state = 'sent' ORDER BY o.sent_at, o.id",
            (chat_id,),
        )
        return [row["msg_id"] for row in rows]

    def delivered(self, chat_id: int) -> list[Any]:
        """Messages Jobs created in a private chat (accepted sends only), in order; a reply
        streamed into a message of its own (Saved Messages) once it is final. A preview is
        recorded before it is sent and its id after: until then it is known by its text."""
        unfinished = (
            self.query(
                "SELECT chat_id, msg_id, text FROM previews AS p WHERE NOT EXISTS"
                " (SELECT 1 FROM outbox WHERE edit_of = p.msg_id AND state = 'sent')"
            )
            if self.settings.db_path.exists()
            else []
        )
        streaming = {(r["chat_id"], r["msg_id"]) for r in unfinished if r["msg_id"] is not None}
        sending = {(r["chat_id"], r["text"]) for r in unfinished if r["msg_id"] is None}
        return [
            m
            for m in self.tg.outbox
            if isinstance(m.peer_id, types.PeerUser)
            and m.peer_id.user_id == chat_id
            and (chat_id, m.id) not in streaming
            and (chat_id, m.message) not in sending
        ]

    def sent_texts(self, chat_id: int) -> list[str]:
        return [m.message for m in self.delivered(chat_id)]

    def send_requests(self, chat_id: int | None = None) -> list[Any]:
        """Every SendMessageRequest (refused ones too), optionally to one chat."""
        return [
            r
            for r in self.tg.of(functions.messages.SendMessageRequest)
            if chat_id is None or getattr(r.peer, "user_id", None) == chat_id
        ]

    def reactions(self, chat_id: int) -> list[Any]:
        return [
            r
            for r in self.tg.of(functions.messages.SendReactionRequest)
            if getattr(r.peer, "user_id", None) == chat_id
        ]

    def assert_sent_once(self) -> None:
        """Every reply went out once: one outbox row per (message, chunk), no message twice."""
        doubled = self.query(
            "SELECT inbox_id, seq FROM outbox WHERE inbox_id IS NOT NULL"
            " GROUP BY inbox_id, seq HAVING COUNT(*) > 1"
        )
        assert not doubled, [tuple(r) for r in doubled]
        # A row is sent with one random id per chunk, and Telegram (the fake too) refuses a
        # second send with the same one: a row cannot create its messages twice.
        sent = [(self._peer_id(r.peer), r.random_id) for r in self.tg.of(*_SENDS)]
        accepted = len(self.tg.outbox)
        assert accepted <= len(set(sent)), (accepted, sent)

    def _peer_id(self, peer: Any) -> int:
        """A request's peer as an id ("me" too: the owner's tools may write to Saved Messages)."""
        if isinstance(peer, types.InputPeerSelf):
            return int(self.tg.me.id)
        return int(utils.get_peer_id(peer))

    def assert_no_unasked_previews(self) -> None:
        """Every message went out with link previews off unless its outbox row allowed one
        (Telegram's servers would fetch the URL: a zero-click way to carry data out)."""
        allowed = {
            derive_random_id(row["random_id"], chunk)
            for row in self.query("SELECT random_id FROM outbox WHERE link_preview = 1")
            for chunk in range(64)
        }
        previewed = [
            r.message[:60]
            for r in self.send_requests()
            if not r.no_webpage and r.random_id not in allowed
        ]
        assert not previewed, previewed

    # -- what the model saw ---------------------------------------------------------------

    def calls_with(self, needle: str) -> list[Call]:
        """Model calls whose user messages contain `needle`."""
        return [c for c in self.model.calls if any(needle in t for t in c.user_texts)]

    # -- waiting --------------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[], Any], *, what: str, within: float = 30.0
    ) -> Any:
        try:
            async with asyncio.timeout(within):
                while not (value := predicate()):
                    if self.task is not None and self.task.done():
                        self.task.result()  # surface the crash
                        raise AssertionError(f"Jobs stopped while waiting for {what}")
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}\n{self.describe()}") from None
        return value

    def describe(self) -> str:
        """What happened so far, for a failure message."""
        inbox = [(r["chat_id"], r["msg_id"], r["state"], r["error"]) for r in self.inbox()]
        outbox = [
            (r["chat_id"], r["state"], r["error"]) for r in self.query("SELECT * FROM outbox")
        ]
        created = [(utils.get_peer_id(m.peer_id), m.message[:60]) for m in self.tg.outbox]
        return (
            f"inbox: {inbox}\noutbox: {outbox}\ncreated: {created}\n"
            f"model calls: {len(self.model.calls)}\n"
            f"requests: {[type(r).__name__ for r in self.tg.requests]}"
        )

    async def replies_to(self, chat_id: int, count: int = 1, within: float = 30.0) -> list[str]:
        await self.wait_for(
            lambda: len(self.sent_texts(chat_id)) >= count,
            what=f"{count} replies to {chat_id}",
            within=within,
        )
        return self.sent_texts(chat_id)

    async def settled(self, within: float = 30.0) -> None:
        """Until every update is handled, every inbox row final and every outbox row sent."""

        def quiet() -> bool:
            open_in = self.query("SELECT 1 FROM inbox WHERE state IN ('pending', 'processing')")
            open_out = self.query("SELECT 1 FROM outbox WHERE state IN ('pending', 'sending')")
            return not open_in and not open_out

        await self.tg.idle(timeout=within)
        await self.wait_for(quiet, what="inbox and outbox settled", within=within)
        await self.tg.idle(timeout=within)

    # -- the database ---------------------------------------------------------------------

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read Jobs' database (WAL: readers never block Jobs)."""
        with closing(sqlite3.connect(self.settings.db_path, timeout=5)) as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()

    async def due_now(self, chat_id: int) -> None:
        """The chat's waiting outbox rows are due now, as when a flood wait or retry is over.

        Written from a thread: a blocking write in the event loop's thread would stall Jobs'
        own transaction (it needs the loop to finish) and so wait for its own lock."""
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()

        def write() -> None:
            with closing(
                sqlite3.connect(self.settings.db_path, timeout=30, isolation_level=None)
            ) as conn:
                conn.execute("BEGIN IMMEDIATE")  # the write lock first, never an upgrade
                conn.execute("UPDATE outbox SET not_before = ? WHERE chat_id = ?", (past, chat_id))
                conn.execute("COMMIT")

        await asyncio.to_thread(write)

    def inbox(self, chat_id: int | None = None) -> list[sqlite3.Row]:
        rows = self.query("SELECT * FROM inbox ORDER BY id")
        return [r for r in rows if chat_id is None or r["chat_id"] == chat_id]

    def inbox_state(self, chat_id: int, msg_id: int) -> str | None:
        rows = self.query(
            "SELECT state FROM inbox WHERE chat_id = ? AND msg_id = ?", (chat_id, msg_id)
        )
        return str(rows[0]["state"]) if rows else None

    async def inbox_states(self) -> dict[str, int]:
        async with await Database.open(self.settings.db_path) as db:
            return await InboxRepo(db).count_by_state()

    async def outbox_rows(self) -> int:
        async with await Database.open(self.settings.db_path) as db:
            return len(await db.fetch_all("SELECT id FROM outbox"))


def jobs_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "tg_api_id": 12345,
        "tg_api_hash": HASH,
        "tg_user_id": OWNER_ID,
        "data_dir": tmp_path / "data",
        "workspace_dir": tmp_path / "workspace",
        "query_timeout_seconds": 20,
    }
    values.update(overrides)
    return load_settings(None, **values)


MakeJobs = Callable[..., Jobs]
"""`make_jobs(env={...}, **settings)` -> a Jobs not started yet (settings as field names:
external_users="all", max_live_sessions=1, query_timeout_seconds=2, tg_user_id=...)."""


@pytest.fixture
async def make_jobs(
    tmp_path: Path, tg: FakeTelegram, fake_model: FakeAnthropic, claude_env: dict[str, str]
) -> AsyncIterator[MakeJobs]:
    made: list[Jobs] = []

    def make(*, env: dict[str, str] | None = None, **overrides: Any) -> Jobs:
        settings = jobs_settings(tmp_path, **overrides)
        running = Jobs(settings, tg, fake_model, {**claude_env, **(env or {})})
        made.append(running)
        return running

    yield make
    for running in made:
        await running.stop()
    # Whatever a test checked, these hold for every run: no request the fake (Telegram) does
    # not know, no reply written or delivered twice, no link preview nobody allowed.
    assert not tg.unhandled, tg.unhandled
    for running in made:
        if running.settings.db_path.exists():
            running.assert_sent_once()
            running.assert_no_unasked_previews()


@pytest.fixture
async def jobs(make_jobs: MakeJobs) -> Jobs:
    """Jobs in the owner's own account, default settings (EXTERNAL_USERS unset → approved)."""
    return make_jobs()


@pytest.fixture
def outbox_repo() -> type[OutboxRepo]:
    return OutboxRepo
