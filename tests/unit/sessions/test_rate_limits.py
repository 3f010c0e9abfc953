"""Rate-limit reports from Claude Code reach /usage's board through the session manager."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from claude_agent_sdk.types import RateLimitInfo

from jobs.conversation.status import RateLimitBoard
from jobs.sessions.manager import SessionManager
from jobs.sessions.settings import SessionSettings
from jobs.storage import AuditRepo, Database, SessionRepo, UsageRepo
from jobs.tools.registry import ToolServers


async def test_a_report_lands_on_the_board(tmp_path: Path) -> None:
    board = RateLimitBoard(clock=lambda: datetime(2026, 11, 27, tzinfo=UTC))
    async with await Database.open(tmp_path / "db.sqlite") as db:
        manager = SessionManager(
            config=SessionSettings(workspace_dir=tmp_path, people_dir=tmp_path / "people"),
            sessions=SessionRepo(db),
            usage=UsageRepo(db),
            audit=AuditRepo(db),
            tools=ToolServers(),
            on_rate_limit=board.note,
        )
        info = RateLimitInfo(
            status="allowed_warning",
            resets_at=1_795_000_000,
            rate_limit_type="five_hour",
            utilization=0.85,
        )
        manager.rate_limit_changed(None, info)  # type: ignore[arg-type]  # the session is unused
        await manager.aclose()
    [note] = board.latest()
    assert (note.window, note.status, note.utilization) == ("five_hour", "allowed_warning", 0.85)
    assert note.resets_at == datetime.fromtimestamp(1_795_000_000, UTC)
