"""SecretStore (a 0600 file, names checked, values masked as stored) and the launcher that
hands a stored value to an MCP server's environment, never its command line."""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.errors import ExtensionError
from jobs.extensions.mcp_servers import McpServers, StdioSpec, parse_spec
from jobs.extensions.secret_launch import MODULE, main, server_process
from jobs.extensions.secret_store import SecretStore
from jobs.redaction import KnownSecrets

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
VALUE = "tok-0123456789abcdef"


def test_values_are_kept_private_and_masked(tmp_path: Path) -> None:
    known = KnownSecrets()
    store = SecretStore(path=tmp_path / "data" / "secrets.json", known=known)
    assert store.put("API_TOKEN", f"  {VALUE}\n") is False
    assert (tmp_path / "data" / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert known.mask(VALUE) == "***"
    assert store.put("API_TOKEN", VALUE) is True
    again = SecretStore(path=tmp_path / "data" / "secrets.json", known=KnownSecrets())
    assert again.names() == ["API_TOKEN"] and again.values() == {"API_TOKEN": VALUE}
    assert again.remove("API_TOKEN") and not again.remove("API_TOKEN")
    for name, value, why in (
        ("api_token", VALUE, "not a secret name"),
        ("TG_API_HASH", VALUE, "shadow Jobs' own"),
        ("SHORT", "1234567", "shorter than 8"),
    ):
        with pytest.raises(ExtensionError, match=why):
            store.put(name, value)


def test_the_awaited_value_survives_a_restart_and_expires(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    SecretStore(path=path, known=KnownSecrets()).expect(5, "API_TOKEN", NOW + timedelta(minutes=5))
    store = SecretStore(path=path, known=KnownSecrets())
    assert store.awaited(5, NOW) == "API_TOKEN"
    assert store.awaited(6, NOW) is None
    assert store.awaited(5, NOW + timedelta(minutes=5)) is None
    store.stop_waiting()
    assert store.awaited(5, NOW) is None


def test_a_stored_secret_goes_into_a_servers_env_only(tmp_path: Path) -> None:
    store = SecretStore(path=tmp_path / "secrets.json", known=KnownSecrets())
    store.put("API_TOKEN", VALUE)
    servers = McpServers(path=tmp_path / "mcp.json", environ={"PATH": "/bin"}, secrets=store)
    for bad in (
        {"command": "/bin/sh", "args": ["--token=${API_TOKEN}"]},
        {"type": "http", "url": "https://x.example/mcp", "headers": {"A": "${API_TOKEN}"}},
    ):
        with pytest.raises(ExtensionError, match="stored secret goes in a stdio server's env"):
            servers.add("bad", parse_spec(bad))
    before = servers.revision
    servers.add("ok", parse_spec({"command": "/bin/sh", "env": {"T": "Bearer ${API_TOKEN}"}}))
    [(name, config)] = servers.active().items()
    assert name == "ok" and config["type"] == "stdio"
    assert config["command"] == sys.executable and config["args"][:2] == ["-m", MODULE]
    assert VALUE not in json.dumps(config)  # no value in what Claude Code is handed
    spec = json.loads(base64.urlsafe_b64decode(config["args"][3]))
    assert spec["env"] == {"T": "Bearer ${API_TOKEN}"}
    store.put("OTHER_TOKEN", VALUE + "x")
    assert servers.revision > before + 1  # sessions refresh: a server may start with it
    assert servers.missing(parse_spec({"command": "/bin/sh", "env": {"X": "${NOPE}"}})) == ["NOPE"]


def test_the_launcher_resolves_env_from_the_store_and_argv_from_the_environment() -> None:
    spec = StdioSpec(
        command="${TOOL}", args=["--home=${HOME}", "${API_TOKEN}"], env={"T": "${API_TOKEN}"}
    )
    command, argv, env = server_process(
        spec.model_dump(), {"API_TOKEN": VALUE}, {"TOOL": "/bin/tool", "HOME": "/h"}
    )
    assert (command, argv) == ("/bin/tool", ["/bin/tool", "--home=/h", ""])
    assert env == {"TOOL": "/bin/tool", "HOME": "/h", "T": VALUE}


def test_the_launcher_says_why_it_cannot_start_without_showing_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "secrets.json"
    broken.write_text('{"values": {"A": "' + VALUE + '"')  # cut short
    encoded = base64.urlsafe_b64encode(b'{"command": "/bin/true"}').decode()
    assert main([str(broken), encoded]) == 3
    err = capsys.readouterr().err
    assert "cannot read the secret store" in err and VALUE not in err
