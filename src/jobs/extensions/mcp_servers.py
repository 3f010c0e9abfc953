"""Owner-managed MCP servers: DATA_DIR/mcp_servers.json (stdio, http, sse) and their SDK configs.

Secrets stay out of the file: a value such as `${GITHUB_TOKEN}` is stored as written and
handed to Claude Code unexpanded; the CLI expands it from its own environment (Jobs' one) when
it starts the server. A name the owner stored with /secret (SecretStore) is resolved by Jobs'
launcher inside the server's own start instead (extensions/secret_launch.py), so its value is
in no config, command line or session environment; it may be used in a stdio server's `env`
only. Listings show which variables a server uses, never a value.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import ChainMap
from collections.abc import Container, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from claude_agent_sdk import McpServerConfig
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobs.errors import ExtensionError
from jobs.extensions.references import (
    PROTECTED_VARS,
    REFERENCE,
    StoredSecrets,
    expand,
    names_in,
)
from jobs.extensions.secret_launch import launch_command
from jobs.extensions.state import read_state, write_state

NAME: Final = re.compile(r"^[a-z0-9]+([-_][a-z0-9]+)*$")
MAX_NAME: Final = 40
MAX_SERVERS: Final = 50
ENV_KEY: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_KEY: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")

_Text = Annotated[str, Field(max_length=4096)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True

    def strings(self) -> list[str]:
        raise NotImplementedError

    def secrets(self) -> dict[str, str]:
        """The env or header map whose values are never shown."""
        raise NotImplementedError


class StdioSpec(_Spec):
    type: Literal["stdio"] = "stdio"
    command: Annotated[str, Field(min_length=1, max_length=1024)]
    args: Annotated[list[_Text], Field(max_length=64)] = []
    env: Annotated[dict[str, _Text], Field(max_length=64)] = {}

    @field_validator("env")
    @classmethod
    def _env_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [key for key in value if not ENV_KEY.fullmatch(key)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(bad[:3])}")
        return value

    def strings(self) -> list[str]:
        return [self.command, *self.args, *self.env.values()]

    def secrets(self) -> dict[str, str]:
        return self.env


class UrlSpec(_Spec):
    type: Literal["http", "sse"]
    url: Annotated[str, Field(max_length=2048)]
    headers: Annotated[dict[str, _Text], Field(max_length=32)] = {}

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def _header_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [key for key in value if not HEADER_KEY.fullmatch(key)]
        if bad:
            raise ValueError(f"not header names: {', '.join(bad[:3])}")
        return value

    def strings(self) -> list[str]:
        return [self.url, *self.headers.values()]

    def secrets(self) -> dict[str, str]:
        return self.headers


ServerSpec = Annotated[StdioSpec | UrlSpec, Field(discriminator="type")]


class McpServersFile(BaseModel):
    """The content of mcp_servers.json."""

    servers: dict[str, ServerSpec] = {}


@dataclass(frozen=True, slots=True)
class McpServerEntry:
    name: str
    spec: StdioSpec | UrlSpec


def parse_spec(data: Mapping[str, Any], /) -> StdioSpec | UrlSpec:
    """A server spec from tool input (type defaults to stdio when a command is given)."""
    raw = {k: v for k, v in data.items() if v is not None}
    kind = raw.setdefault("type", "stdio" if "command" in raw else None)
    try:
        if kind == "stdio":
            return StdioSpec.model_validate(raw)
        if kind in ("http", "sse"):
            return UrlSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "server"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ExtensionError(f"The server's {where} is not valid: {msg}.") from None
    raise ExtensionError("type must be stdio (with a command), http or sse (with a url).")


def references(spec: StdioSpec | UrlSpec, /) -> list[str]:
    """The environment variables the spec refers to as ${NAME} (without a :- default)."""
    found = (m for text in spec.strings() for m in REFERENCE.finditer(text))
    return sorted({m.group(1) for m in found if m.group(2) is None})


def describe(entry: McpServerEntry, /) -> str:
    """One listing line: never an env or header value, only the variables referred to."""
    spec = entry.spec
    state = "enabled" if spec.enabled else "disabled"
    if isinstance(spec, StdioSpec):
        where = " ".join([spec.command, *spec.args])
    else:
        parts = urlsplit(spec.url)
        where = (
            f"{spec.type} {parts.scheme}://{parts.hostname or ''}{_port(parts.port)}{parts.path}"
        )
    keys = ", ".join(f"{k}={_shown(v)}" for k, v in sorted(spec.secrets().items()))
    label = "env" if isinstance(spec, StdioSpec) else "headers"
    return f"{entry.name} [{state}] {where}" + (f"\n  {label}: {keys}" if keys else "")


class McpServers:
    """mcp_servers.json: add, remove, enable, disable; `revision` counts every change."""

    def __init__(
        self,
        *,
        path: Path,
        reserved: Container[str] = frozenset(),
        environ: Mapping[str, str] | None = None,
        secrets: StoredSecrets | None = None,
    ) -> None:
        """`reserved`: names of Jobs' own servers (ToolServers will do); `environ`: where
        ${VAR} references are looked up (Jobs' environment, which the CLI inherits);
        `secrets`: the owner's stored secrets, which references may name too."""
        self._path = path
        self._reserved = reserved
        self._environ = os.environ if environ is None else environ
        self._secrets = secrets
        self._state = read_state(path, McpServersFile)
        self._revision = 0

    @property
    def revision(self) -> int:
        """Counts every change, a stored secret's too (a server may start or stop with it)."""
        return self._revision + (self._secrets.revision if self._secrets is not None else 0)

    @property
    def environ(self) -> Mapping[str, str]:
        """Where a reference resolves when Jobs itself starts a server (mcp_test): a stored
        secret first, then Jobs' environment."""
        if self._secrets is None:
            return self._environ
        return ChainMap(self._secrets.values(), dict(self._environ))

    def entries(self) -> list[McpServerEntry]:
        return [McpServerEntry(name, spec) for name, spec in sorted(self._state.servers.items())]

    def get(self, name: str, /) -> StdioSpec | UrlSpec:
        spec = self._state.servers.get(name)
        if spec is None:
            known = ", ".join(sorted(self._state.servers)) or "none yet"
            raise ExtensionError(f"There is no MCP server named {name!r} (configured: {known}).")
        return spec

    def check(self, name: str, spec: StdioSpec | UrlSpec, /) -> None:
        """Refuse a name or spec that could never work, before anything is saved."""
        self._check_name(name)
        protected = [var for var in references(spec) if PROTECTED_VARS.match(var)]
        if protected:
            raise ExtensionError(
                f"{', '.join(protected)} belong to Jobs itself and are not passed to MCP servers."
            )
        self._check_stored(spec)
        if isinstance(spec, StdioSpec):
            self._check_command(expand(spec.command, self._environ))

    def add(self, name: str, spec: StdioSpec | UrlSpec, /, *, replace: bool = False) -> None:
        self.check(name, spec)
        if name in self._state.servers and not replace:
            raise ExtensionError(f"An MCP server named {name!r} exists; remove it first.")
        if name not in self._state.servers and len(self._state.servers) >= MAX_SERVERS:
            raise ExtensionError(f"There are already {MAX_SERVERS} MCP servers; remove some.")
        self._save({**self._state.servers, name: spec})

    def remove(self, name: str, /) -> None:
        self.get(name)
        self._save({k: v for k, v in self._state.servers.items() if k != name})

    def set_enabled(self, name: str, enabled: bool, /) -> bool:
        """Enable or disable; False when it already was."""
        spec = self.get(name)
        if spec.enabled == enabled:
            return False
        self._save({**self._state.servers, name: spec.model_copy(update={"enabled": enabled})})
        return True

    def missing(self, spec: StdioSpec | UrlSpec, /) -> list[str]:
        """Referenced variables neither stored nor set in Jobs' environment."""
        return [var for var in references(spec) if var not in self.environ]

    def active(self) -> dict[str, McpServerConfig]:
        """SDK configs of the enabled servers whose variables are all set; a server using a
        stored secret is started through Jobs' launcher, which resolves it."""
        return {
            entry.name: self._config(entry.spec)
            for entry in self.entries()
            if entry.spec.enabled and not self.missing(entry.spec)
        }

    def _stored_in(self, spec: StdioSpec | UrlSpec) -> list[str]:
        stored = self._secrets
        return [] if stored is None else [var for var in references(spec) if var in stored]

    def _config(self, spec: StdioSpec | UrlSpec) -> McpServerConfig:
        if self._secrets is None or not self._stored_in(spec) or not isinstance(spec, StdioSpec):
            return sdk_config(spec)
        command, args = launch_command(spec.model_dump_json(), self._secrets.path)
        return {"type": "stdio", "command": command, "args": args, "env": {}}

    def _check_stored(self, spec: StdioSpec | UrlSpec) -> None:
        """A stored secret goes into a stdio server's environment only: a command line is
        shown to every process (ps), and a URL or header would sit in Claude Code's config."""
        stored = set(self._stored_in(spec))
        texts = spec.strings() if isinstance(spec, UrlSpec) else [spec.command, *spec.args]
        outside = sorted({name for text in texts for name in names_in(text)} & stored)
        if outside:
            raise ExtensionError(
                f"{', '.join(outside)}: a stored secret goes in a stdio server's env only "
                "(where no process listing or config shows it), not in a command, argument, "
                "URL or header."
            )

    def _check_name(self, name: str) -> None:
        if len(name) > MAX_NAME or not NAME.fullmatch(name):
            raise ExtensionError(
                f"{name[:60]!r} is not a valid server name: lowercase letters and digits, "
                f"words joined by single - or _, at most {MAX_NAME} characters."
            )
        if name in self._reserved or name.startswith("plugin_"):
            raise ExtensionError(f"{name!r} is reserved for Jobs' own tools; choose another name.")

    def _check_command(self, command: str) -> None:
        path = self._environ.get("PATH", os.defpath)
        if "/" in command:
            if not (Path(command).is_file() and os.access(command, os.X_OK)):
                raise ExtensionError(f"The command {command!r} does not exist or is not runnable.")
        elif shutil.which(command, path=path) is None:
            raise ExtensionError(
                f"The command {command!r} was not found on Jobs' PATH; install it or give its "
                "full path."
            )

    def _save(self, servers: dict[str, StdioSpec | UrlSpec]) -> None:
        state = McpServersFile(servers=servers)
        write_state(self._path, state, private=True)
        self._state = state
        self._revision += 1


def sdk_config(spec: StdioSpec | UrlSpec, /) -> McpServerConfig:
    """The ClaudeAgentOptions.mcp_servers entry; ${VAR} references left for the CLI to expand."""
    if isinstance(spec, StdioSpec):
        return {
            "type": "stdio",
            "command": spec.command,
            "args": list(spec.args),
            "env": dict(spec.env),
        }
    if spec.type == "sse":
        return {"type": "sse", "url": spec.url, "headers": dict(spec.headers)}
    return {"type": "http", "url": spec.url, "headers": dict(spec.headers)}


def _shown(value: str) -> str:
    refs = REFERENCE.findall(value)
    if not refs:
        return "(set, hidden)"
    return " ".join("${" + name + "}" for name, _default in refs)


def _port(port: int | None) -> str:
    return f":{port}" if port else ""
