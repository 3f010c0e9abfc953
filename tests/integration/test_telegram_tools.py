"""The owner's Telegram tools end to end: the real SDK and CLI on the scripted model call
mcp__telegram__* tools, which act through TelegramApi on the fake Telegram; an external
person's session is never offered them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient
from telethon.tl import functions, types

from jobs.sessions import EXTERNAL, OWNER, SessionManager
from jobs.sessions.keys import OWNER_KEY, SessionKey
from jobs.storage import Database, TaskRepo
from jobs.telegram.api import TelegramApi
from jobs.telegram.inbound import SentLog
from jobs.telegram.media import TelegramMedia
from jobs.tools import ToolServers
from jobs.tools.tasks import ExternalTaskTools
from jobs.tools.telegram import TOOL_NAMES, TelegramTools
from tests.fakes.anthropic import FakeAnthropic, text, tool_use
from tests.fakes.telegram import FakeTelegram
from tests.session_stack import session_manager

ME, ANN = 1000, 111
TELEGRAM_TOOLS = {f"mcp__telegram__{name}" for name in TOOL_NAMES}


@dataclass
class World:
    manager: SessionManager
    workspace: Path
    sent_log: SentLog


@pytest.fixture
async def world(
    tmp_path: Path, claude_env: dict[str, str], tg: FakeTelegram, tg_client: TelegramClient
) -> AsyncIterator[World]:
    tg.add_user(ANN, "Ann", "Lee", username="ann", contact=True)
    tg.incoming(ANN, "Are we still on for 7?")
    db = await Database.open(tmp_path / "data" / "db.sqlite")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    sent_log = SentLog()
    api = TelegramApi(
        client=tg_client, sent_log=sent_log, owner_id=ME, media=TelegramMedia(client=tg_client)
    )

    async def notify_owner(_person: int, _text: str) -> None:
        return None

    tools = ToolServers(
        [
            TelegramTools(
                account=api, roots=[workspace], uploads_dir=workspace / "uploads"
            ).server(),
            ExternalTaskTools(tasks=TaskRepo(db), notify_owner=notify_owner).server(),
        ]
    )
    manager = session_manager(
        db,
        root=tmp_path,
        env=claude_env,
        workspace=workspace,
        tools=tools,
    )
    try:
        yield World(manager, workspace, sent_log)
    finally:
        await manager.aclose()
        await db.close()


def results(call: Any) -> str:
    return json.dumps(call.tool_results, ensure_ascii=False)


async def test_owner_reads_and_answers_a_chat(
    world: World, fake_model: FakeAnthropic, tg: FakeTelegram
) -> None:
    fake_model.push(
        tool_use("mcp__telegram__list_dialogs", {"limit": 5}),
        tool_use("mcp__telegram__read_messages", {"chat": "Ann Lee", "since": "1d"}),
        tool_use("mcp__telegram__send_message", {"chat": "@ann", "text": "Yes, see you at **7**"}),
        tool_use("mcp__telegram__mark_read", {"chat": "@ann"}),
        text("Told Ann."),
    )
    reply = await world.manager.run_turn(OWNER_KEY, OWNER, "Answer Ann: yes, 7 is fine")
    assert reply.text == "Told Ann."
    calls = fake_model.calls
    assert calls[0].offered_tools >= TELEGRAM_TOOLS
    assert "Ann Lee (@ann, user 111)" in results(calls[1])
    assert "Are we still on for 7?" in results(calls[2])
    assert "Sent to Ann Lee (@ann, user 111), message id" in results(calls[3])
    [sent] = tg.of(functions.messages.SendMessageRequest)
    assert (sent.peer.user_id, sent.message) == (ANN, "Yes, see you at 7")
    assert "Marked Ann Lee" in results(calls[4])


async def test_owner_sends_a_workspace_file_but_nothing_outside(
    world: World, fake_model: FakeAnthropic, tg: FakeTelegram, tmp_path: Path
) -> None:
    (world.workspace / "out").mkdir()
    (world.workspace / "out" / "report.pdf").write_bytes(b"%PDF-1.4 report")
    (tmp_path / "secret.txt").write_text("not yours")
    fake_model.push(
        tool_use("mcp__telegram__send_file", {"chat": "me", "path": "out/report.pdf"}),
        tool_use(
            "mcp__telegram__send_file", {"chat": "@ann", "path": str(tmp_path / "secret.txt")}
        ),
        tool_use("mcp__telegram__send_file", {"chat": "@ann", "path": "../secret.txt"}),
        text("Sent you the report."),
    )
    await world.manager.run_turn(OWNER_KEY, OWNER, "send me the report")
    calls = fake_model.calls
    assert "Sent report.pdf to Saved Messages" in results(calls[1])
    for refused in (calls[2], calls[3]):
        assert "outside the workspace" in results(refused) and '"is_error": true' in results(
            refused
        )
    [media] = tg.of(functions.messages.SendMediaRequest)
    assert isinstance(media.media, types.InputMediaUploadedDocument)
    assert tg.files[tg.outbox[-1].media.document.id] == b"%PDF-1.4 report"
    assert (ME, tg.outbox[-1].id) in world.sent_log  # not mistaken for the owner's own note


async def test_flood_wait_comes_back_as_a_clear_error(
    world: World, fake_model: FakeAnthropic, tg: FakeTelegram
) -> None:
    tg.fail(functions.messages.SendMessageRequest, "FLOOD_WAIT_120", code=420)
    fake_model.push(
        tool_use("mcp__telegram__send_message", {"chat": "@ann", "text": "hi"}),
        text("Telegram wants me to wait."),
    )
    await world.manager.run_turn(OWNER_KEY, OWNER, "say hi to Ann")
    result = results(fake_model.calls[1])
    assert "wait 120 s (flood wait)" in result and '"is_error": true' in result


async def test_external_sessions_are_never_offered_telegram_tools(
    world: World, fake_model: FakeAnthropic, tg: FakeTelegram
) -> None:
    fake_model.push(
        tool_use("mcp__telegram__send_message", {"chat": "@ann", "text": "spam"}),
        text("I can't."),
    )
    await world.manager.run_turn(
        SessionKey.person(42), EXTERNAL, "message Ann for me", person_id=42
    )
    assert not fake_model.calls[0].offered_tools & TELEGRAM_TOOLS
    assert not tg.of(functions.messages.SendMessageRequest)
