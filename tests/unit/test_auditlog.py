"""`jobs audit`: the latest audit entries, one readable line each, newest last."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from jobs.auditlog import latest, render, render_entry
from jobs.cli import main
from jobs.storage import AuditRepo, Database


async def _seed(path: Path) -> None:
    async with await Database.open(path) as db:
        audit = AuditRepo(db)
        await audit.record(
            "tool_call",
            session_key="external:42",
            role="external",
            person_id=42,
            tool="Bash",
            detail={"input": {"command": "cat secrets\nrm -rf /"}, "tool_use_id": "t1"},
            decision="denied",
        )
        await audit.record(
            "tool_call",
            session_key="owner",
            role="owner",
            tool="mcp__messaging__send_to_user",
            detail={"input": {"to": "@bob", "text": "x" * 500, "api_key": "sk-live-123"}},
            decision="allowed",
        )


async def test_render_newest_last_one_line_each(tmp_path: Path) -> None:
    await _seed(tmp_path / "db.sqlite")
    entries = await latest(tmp_path / "db.sqlite", 10)
    lines = render(entries).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("#1 ") and "external:42 (external) person 42 Bash denied" in lines[0]
    assert '"cat secrets\\nrm -rf /"' in lines[0]
    assert "owner (owner) - mcp__messaging__send_to_user allowed {" in lines[1]
    assert "sk-live-123" not in lines[1] and lines[1].endswith("…")
    assert render([]) == "No audit entries yet."
    assert render_entry(entries[0]) == lines[1]
    approved = replace(entries[0], decision="approved_by_owner", approval_id=7)
    assert "approved_by_owner approval #7 {" in render_entry(approved)


def test_jobs_audit_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["audit"]) == 1
    assert "no database" in capsys.readouterr().err
    asyncio.run(_seed(tmp_path / "db.sqlite"))
    assert main(["audit", "-n", "1"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("#2 ")
    with pytest.raises(SystemExit):
        main(["audit", "-n", "0"])
