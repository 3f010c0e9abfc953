"""A whole Jobs (`run_telegram`) on the fake Telegram and the scripted model, in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telethon.tl import functions

from jobs.config import Settings, load_settings
from jobs.modes import run_telegram
from jobs.storage import Database, InboxRepo, OutboxRepo
from jobs.telegram.client import make_client
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeTelegram

OWNER_ID = 1000  # the fake account's own id: Jobs runs in the owner's own account
HASH = "0123456789abcdef0123456789abcdef"


@dataclass
class Jobs:
    """A running Jobs and the means to talk to it."""

    settings: Settings
    tg: FakeTelegram
    model: FakeAnthropic
    env: dict[str, str]
    task: asyncio.Task[None] | None = None
    stderr: list[str] = field(default_factory=list)

    async def start(self) -> None:
        client = self.tg.attach(make_client(self.settings))
        self.task = asyncio.create_task(
            run_telegram(self.settings, extra_env=self.env, client=client)
        )
        await self.wait_for(lambda: client.is_connected(), what="connected")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    def sent_texts(self, chat_id: int) -> list[str]:
        return [
            r.message
            for r in self.tg.of(functions.messages.SendMessageRequest)
            if getattr(r.peer, "user_id", None) == chat_id
        ]

    async def wait_for(
        self, predicate: Callable[[], Any], *, what: str, within: float = 30.0
    ) -> Any:
        async with asyncio.timeout(within):
            while not (value := predicate()):
                if self.task is not None and self.task.done():
                    self.task.result()  # surface the crash
                    raise AssertionError(f"Jobs stopped while waiting for {what}")
                await asyncio.sleep(0.02)
        return value

    async def replies_to(self, chat_id: int, count: int = 1, within: float = 30.0) -> list[str]:
        await self.wait_for(
            lambda: len(self.sent_texts(chat_id)) >= count,
            what=f"{count} replies to {chat_id}",
            within=within,
        )
        return self.sent_texts(chat_id)

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


@pytest.fixture
async def jobs(
    tmp_path: Path, tg: FakeTelegram, fake_model: FakeAnthropic, claude_env: dict[str, str]
) -> AsyncIterator[Jobs]:
    running = Jobs(jobs_settings(tmp_path), tg, fake_model, claude_env)
    yield running
    await running.stop()


@pytest.fixture
def outbox_repo() -> type[OutboxRepo]:
    return OutboxRepo
