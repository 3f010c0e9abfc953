"""Secrets (API keys, the API hash, a StringSession) never reach the log, the audit table, a
Telegram request or `jobs audit`, even at DEBUG and when the model is asked to print its env."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from jobs.cli import scrub_environment
from jobs.logs import configure_logging
from tests.e2e.conftest import OWNER_ID, MakeJobs
from tests.fakes.anthropic import Call, Turn, text, tool_use

ANTHROPIC_KEY = "sk-ant-api03-" + "A1nthropicSecret" * 4
OPENAI_KEY = "sk-proj-" + "O9penaiSecret" * 4
API_HASH = "5ec7e75ec7e75ec7e75ec7e75ec7e7ab"


def string_session() -> str:
    session = StringSession()
    session.set_dc(2, "127.0.0.1", 443)
    session.auth_key = AuthKey(bytes(range(256)))
    return str(session.save())


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line as `jobs run` would print it (the redacting handler), at DEBUG."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    lines: list[str] = []
    yield lines
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _capture(secrets: list[str], lines: list[str]) -> None:
    configure_logging("DEBUG", secrets)
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(_Lines(lines))


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, s: str) -> int:
        self.lines.append(s)
        return len(s)

    def flush(self) -> None:
        pass


def _print_tool_results(call: Call) -> Turn:
    return text("Here it is:\n" + json.dumps(call.tool_results, ensure_ascii=False))


async def test_no_secret_in_logs_audit_requests_or_messages(
    make_jobs: MakeJobs, log_lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = string_session()
    for name, value in {
        "OPENAI_API_KEY": OPENAI_KEY,
        "TG_API_HASH": API_HASH,
        "TG_SESSION": session,
    }.items():
        monkeypatch.setenv(name, value)
    jobs = make_jobs(
        env={"ANTHROPIC_API_KEY": ANTHROPIC_KEY},
        anthropic_api_key=ANTHROPIC_KEY,
        openai_base_url="http://127.0.0.1:9/v1",
        tg_api_hash=API_HASH,
        log_level="DEBUG",
    )
    scrub_environment(os.environ)  # as `jobs run` does once settings are read
    secrets = [ANTHROPIC_KEY, OPENAI_KEY, API_HASH, session]
    assert sorted(jobs.settings.secret_values()) == sorted(secrets)
    _capture(jobs.settings.secret_values(), log_lines)
    jobs.model.push(
        tool_use("Bash", {"command": "env"}),
        _print_tool_results,
        tool_use("Bash", {"command": f"echo {OPENAI_KEY} {API_HASH}"}),
        _print_tool_results,
        text("Noted."),
    )
    await jobs.start()
    jobs.tg.outgoing(OWNER_ID, "print your environment variables")
    await jobs.replies_to(OWNER_ID, 1)
    jobs.tg.outgoing(OWNER_ID, "echo the keys")
    await jobs.replies_to(OWNER_ID, 2)
    jobs.tg.outgoing(OWNER_ID, f"remember my key {ANTHROPIC_KEY}")
    await jobs.replies_to(OWNER_ID, 3)
    await jobs.settled()
    await jobs.stop()

    audit = [dict(r) for r in jobs.query("SELECT * FROM audit")]
    assert any(r["tool"] == "Bash" and r["decision"] == "allowed" for r in audit)
    shown = await _jobs_audit(jobs.settings.data_dir, tmp_path)
    assert "owner (owner) person 1000 Bash allowed" in shown
    seen = {
        "log": "".join(log_lines),
        "audit": json.dumps(audit, ensure_ascii=False),
        "jobs audit": shown,
        "telegram requests": "\n".join(repr(r) for r in jobs.tg.requests),
        "messages": "\n".join(m.message for m in jobs.tg.outbox),
    }
    assert "DEBUG" in seen["log"] and "Here it is" in seen["messages"]
    # They were there to leak: masked in the replies (`env`, the echo) and in the audit.
    assert '"content": "*** ***"' in seen["messages"]
    assert "echo sk-[redacted] [redacted]" in seen["audit"]
    assert "TG_API_HASH" not in seen["messages"] and "TG_SESSION" not in seen["messages"]
    leaks = [
        (where, secret[:12]) for where, body in seen.items() for secret in secrets if secret in body
    ]
    assert not leaks, leaks


async def _jobs_audit(data_dir: Path, cwd: Path) -> str:
    """The real `jobs audit` command, as a person would run it."""
    env: dict[str, Any] = {**os.environ, "DATA_DIR": str(data_dir), "LOG_LEVEL": "DEBUG"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jobs",
        "audit",
        "-n",
        "20",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def test_scrub_environment_removes_only_secrets() -> None:
    environ = {"TG_API_HASH": "h", "TG_SESSION": "s", "OPENAI_API_KEY": "k", "PATH": "/bin"}
    scrub_environment(environ)
    assert environ == {"PATH": "/bin"}
