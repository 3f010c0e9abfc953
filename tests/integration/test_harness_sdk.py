"""The SDK harness: the real claude-agent-sdk and its bundled CLI against the fake model."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    McpSdkServerConfig,
    Message,
    ResultMessage,
    SystemMessage,
    TextBlock,
    create_sdk_mcp_server,
    tool,
)

from tests.fakes.anthropic import FakeAnthropic, cut, error, hang, text, tool_use
from tests.fakes.network import NetworkBlockedError


@dataclass
class Turn:
    """Everything one query() produced, up to its ResultMessage."""

    messages: list[Message]
    stderr: list[str] = field(default_factory=list)

    @property
    def result(self) -> ResultMessage:
        last = self.messages[-1]
        assert isinstance(last, ResultMessage), f"no result; CLI stderr: {self.stderr}"
        return last

    @property
    def text(self) -> str:
        return "".join(
            b.text
            for m in self.messages
            if isinstance(m, AssistantMessage)
            for b in m.content
            if isinstance(b, TextBlock)
        )

    def system(self, subtype: str) -> list[SystemMessage]:
        return [m for m in self.messages if isinstance(m, SystemMessage) and m.subtype == subtype]


def make_options(
    env: dict[str, str], cwd: Path, stderr: list[str], **kw: Any
) -> ClaudeAgentOptions:
    cwd.mkdir(exist_ok=True)
    kw.setdefault("tools", [])
    return ClaudeAgentOptions(
        env=env,
        cwd=cwd,
        permission_mode="bypassPermissions",  # allowed as root only because env has IS_SANDBOX=1
        setting_sources=[],
        stderr=stderr.append,
        **kw,
    )


async def ask(options: ClaudeAgentOptions, prompt: str, stderr: list[str]) -> Turn:
    """One prompt on a fresh client, connected and closed here."""
    async with ClaudeSDKClient(options) as client:
        await client.query(prompt)
        messages = [m async for m in client.receive_response()]
    return Turn(messages, stderr)


def calc_server() -> McpSdkServerConfig:
    @tool("add", "Add two integers", {"a": int, "b": int})
    async def add(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": f"sum={args['a'] + args['b']}"}]}

    return create_sdk_mcp_server("calc", tools=[add])


async def test_text_reply(fake_model: FakeAnthropic, claude_env: dict[str, str], tmp_path: Path):
    stderr: list[str] = []
    fake_model.push(text("hello from the fake"))

    turn = await ask(make_options(claude_env, tmp_path / "cwd", stderr), "hi there", stderr)

    assert turn.text == "hello from the fake"
    assert not turn.result.is_error, stderr
    assert turn.result.result == "hello from the fake"
    [call] = await fake_model.wait_calls_async(1)
    assert "hi there" in call.last_user_text
    assert call.stream


async def test_mcp_tool_result_reaches_next_request(
    fake_model: FakeAnthropic, claude_env: dict[str, str], tmp_path: Path
):
    stderr: list[str] = []
    fake_model.push(tool_use("mcp__calc__add", {"a": 2, "b": 3}), text("it is 5"))
    options = make_options(
        claude_env, tmp_path / "cwd", stderr, mcp_servers={"calc": calc_server()}
    )

    turn = await ask(options, "add 2 and 3", stderr)

    assert turn.text == "it is 5"
    assert not turn.result.is_error, stderr
    calls = await fake_model.wait_calls_async(2)
    [result] = calls[1].tool_results
    assert result["tool_use_id"] == calls[1].messages[-2]["content"][0]["id"]
    assert "sum=5" in str(result["content"])
    assert not result.get("is_error")


async def test_resumed_session_sends_earlier_history(
    fake_model: FakeAnthropic, claude_env: dict[str, str], tmp_path: Path
):
    stderr: list[str] = []
    fake_model.push(text("noted: kiwi"), text("the word was kiwi"))
    first = await ask(make_options(claude_env, tmp_path / "cwd", stderr), "remember kiwi", stderr)
    session_id = first.result.session_id

    options = make_options(claude_env, tmp_path / "cwd", stderr, resume=session_id)
    second = await ask(options, "which word?", stderr)

    assert second.text == "the word was kiwi"
    call = fake_model.calls[-1]
    assert any("remember kiwi" in t for t in call.user_texts)
    assert "which word?" in call.last_user_text
    assistant = [m for m in call.messages if m["role"] == "assistant"]
    assert "noted: kiwi" in str(assistant)
    assert second.result.session_id == session_id


async def test_overload_is_retried(
    fake_model: FakeAnthropic, claude_env: dict[str, str], tmp_path: Path
):
    stderr: list[str] = []
    fake_model.push(error(529), text("after the overload"))

    turn = await ask(make_options(claude_env, tmp_path / "cwd", stderr), "hi", stderr)

    assert turn.text == "after the overload"
    assert not turn.result.is_error, stderr
    assert len(fake_model.calls) == 2
    assert turn.system("api_retry")


async def test_cut_stream_is_retried(
    fake_model: FakeAnthropic, claude_env: dict[str, str], tmp_path: Path
):
    stderr: list[str] = []
    fake_model.push(cut(text("never finished", chunk=2), after_events=3), text("second try"))

    turn = await ask(make_options(claude_env, tmp_path / "cwd", stderr), "hi", stderr)

    assert turn.text == "second try"  # the partial first answer is dropped
    assert not turn.result.is_error, stderr
    assert len(fake_model.calls) == 2


async def test_hang_times_out_into_an_error_result(
    fake_model: FakeAnthropic, claude_env: dict[str, str], tmp_path: Path
):
    stderr: list[str] = []
    fake_model.push(hang(), hang())
    env = {**claude_env, "API_TIMEOUT_MS": "300", "CLAUDE_CODE_MAX_RETRIES": "0"}
    started = time.monotonic()

    turn = await ask(make_options(env, tmp_path / "cwd", stderr), "hi", stderr)

    # No exception: a synthetic AssistantMessage carries the error, the result has is_error.
    assert turn.result.is_error
    assert [m.error for m in turn.messages if isinstance(m, AssistantMessage)] == ["server_error"]
    assert "timed out" in turn.text
    assert time.monotonic() - started < 10
    [call] = fake_model.calls
    assert call.aborted  # the CLI gave up and closed the connection


@pytest.mark.parametrize(
    ("builtins", "offered"),
    [([], {"mcp__calc__add"}), (["Read"], {"Read", "mcp__calc__add"})],
)
async def test_offered_tools_follow_tools_option(
    fake_model: FakeAnthropic,
    claude_env: dict[str, str],
    tmp_path: Path,
    builtins: list[str],
    offered: set[str],
):
    stderr: list[str] = []
    fake_model.push(text("ok"))
    options = make_options(
        claude_env, tmp_path / "cwd", stderr, tools=builtins, mcp_servers={"calc": calc_server()}
    )

    turn = await ask(options, "hi", stderr)

    [call] = fake_model.calls
    assert call.offered_tools == offered
    [init] = turn.system("init")
    assert set(init.data["tools"]) == offered


async def test_harness_blocks_network_but_not_loopback(fake_model: FakeAnthropic):
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(NetworkBlockedError):
        await asyncio.open_connection("example.com", 443)
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)

    port = int(fake_model.url.rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()
    await writer.wait_closed()
    assert not [k for k in os.environ if k.startswith(("ANTHROPIC_", "CLAUDE"))]
