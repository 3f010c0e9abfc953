"""A secret given in chat (/secret NAME, then the value) through the whole of `jobs run`: the
message is deleted for both sides, the value is in no model request, no database file, no
log line and no Telegram request Jobs made, and an MCP server started by the owner's session
receives it in its environment."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from telethon.tl import functions

from tests.e2e.conftest import OWNER_ID, MakeJobs
from tests.e2e.test_secrets import _capture, log_lines  # noqa: F401 - log_lines: the fixture
from tests.fakes import mcp_server
from tests.fakes.anthropic import text, tool_use

VALUE = "vault-s3cr3t-Zq9x/7+Kp2mW"
NAME = "VAULT_TOKEN"


def server_environ(name: str) -> dict[str, str]:
    """The environment of the running fake MCP server started as `--name name`."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            raw = (proc / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if str(mcp_server.SCRIPT).encode() in argv and name.encode() in argv:
            pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
            return {k.decode(): v.decode("utf-8", "replace") for k, _, v in pairs}
    return {}


def data_files(data_dir: Path) -> dict[str, bytes]:
    """Every file Jobs keeps under DATA_DIR but the secret store itself (and transcripts)."""
    return {
        str(path): path.read_bytes()
        for path in data_dir.rglob("*")
        if path.is_file() and path.name != "secrets.json"
    }


async def test_a_secret_from_chat_reaches_the_server_and_nothing_else(
    make_jobs: MakeJobs,
    log_lines: list[str],  # noqa: F811 - the fixture
) -> None:
    jobs = make_jobs(log_level="DEBUG")
    _capture(jobs.settings.secret_values(), log_lines)
    command, args = mcp_server.command("--name", "vault")
    env = {NAME: "${" + NAME + "}", "PLAIN": "${HOME}"}
    servers = {"vault": {"type": "stdio", "command": command, "args": args, "env": env}}
    jobs.settings.data_dir.mkdir(parents=True)
    (jobs.settings.data_dir / "mcp_servers.json").write_text(json.dumps({"servers": servers}))
    leaked = base64.b64encode(VALUE.encode()).decode()
    jobs.model.push(
        tool_use("mcp__vault__echo", {"text": "ping"}),
        text(f"The vault answered. (Token, encoded: {leaked} and {VALUE[::-1]})"),
    )
    await jobs.start()

    jobs.tg.outgoing(OWNER_ID, f"/secret {NAME}")
    [asked] = await jobs.replies_to(OWNER_ID, 1)
    assert asked.startswith(f"Send the value of {NAME} as your next message")
    value_message = jobs.tg.outgoing(OWNER_ID, VALUE)
    stored = (await jobs.replies_to(OWNER_ID, 2))[1]
    assert stored.startswith(f"🔐 Stored {NAME}; its value stays hidden.")
    assert "Your message is deleted for both of us." in stored
    [deleted] = jobs.tg.of(functions.messages.DeleteMessagesRequest)
    assert (deleted.id, deleted.revoke) == ([value_message.id], True)
    store = jobs.settings.data_dir / "secrets.json"
    assert store.stat().st_mode & 0o777 == 0o600
    assert json.loads(store.read_text())["values"] == {NAME: VALUE}

    jobs.tg.outgoing(OWNER_ID, "ask the vault")
    replies = await jobs.replies_to(OWNER_ID, 3)
    assert replies[2] == "The vault answered. (Token, encoded: *** and ***)"
    environ = server_environ("vault")
    assert environ.get(NAME) == VALUE  # the server has it
    assert environ.get("PLAIN") == jobs.env["HOME"]  # as the CLI would have resolved it
    assert "echo: ping" in json.dumps(jobs.model.calls[1].tool_results)

    jobs.tg.outgoing(OWNER_ID, "/secrets")
    listing = (await jobs.replies_to(OWNER_ID, 4))[3]
    assert listing == f"Stored secrets (values hidden): {NAME}"
    await jobs.settled()
    await jobs.stop()

    seen = {
        "model requests": "\n".join(json.dumps(call.body) for call in jobs.model.calls),
        "logs": "".join(log_lines),
        "telegram requests": "\n".join(repr(r) for r in jobs.tg.requests if r is not deleted),
        "sent messages": "\n".join(m.message for m in jobs.tg.outbox),
        **data_files(jobs.settings.data_dir),
    }
    assert "DEBUG" in seen["logs"] and len(jobs.model.calls) == 2
    leaks = [where for where, body in seen.items() if VALUE in str(body)]
    assert not leaks, leaks
    for where in ("sent messages", "logs"):
        assert leaked not in seen[where], where
    assert sys.executable  # the launcher ran on this interpreter


async def test_someone_else_is_refused(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    await jobs.start()
    jobs.tg.incoming(77, f"/secret {NAME} {VALUE}")
    [refusal] = await jobs.replies_to(77, 1)
    assert refusal == "Only my owner can give me secrets. I kept nothing from that message."
    await jobs.settled()
    assert not (jobs.settings.data_dir / "secrets.json").exists()
