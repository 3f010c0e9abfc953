"""mcp_test's engine: start one configured MCP server, list its tools, explain any failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any, Final

import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from jobs.extensions.mcp_servers import StdioSpec, UrlSpec, references
from jobs.extensions.references import expand

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 30.0
_STDERR_TAIL: Final = 1500


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Probe:
    """What starting a server showed: its tools, or why it failed (secrets masked)."""

    tools: tuple[ToolInfo, ...] = ()
    server: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def probe(
    spec: StdioSpec | UrlSpec, /, *, environ: Mapping[str, str], time_limit: float = DEFAULT_TIMEOUT
) -> Probe:
    """Connect as Claude Code would (with ${VAR} expanded from `environ`), list the tools, stop.

    Never raises for a server's failure: whatever went wrong becomes `Probe.error`, a message
    the owner can act on. No secret value appears in it.
    """
    missing = [var for var in references(spec) if var not in environ]
    if missing:
        return Probe(error=f"Not set in Jobs' environment: {', '.join(missing)}.")
    secrets = _secret_values(spec, environ)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errlog:
        try:
            async with asyncio.timeout(time_limit):
                return await _list_tools(spec, environ, errlog)
        except TimeoutError:
            reason = f"no answer within {time_limit:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure of a foreign server is the result
            reason = _reason(exc, stdio=isinstance(spec, StdioSpec))
        errlog.seek(0)
        tail = errlog.read()[-_STDERR_TAIL:].strip()
    message = f"The server did not start properly: {reason}."
    if tail:
        message += f"\nIts error output ends with:\n{tail}"
    return Probe(error=_mask(message, secrets))


async def _list_tools(
    spec: StdioSpec | UrlSpec, environ: Mapping[str, str], errlog: IO[str]
) -> Probe:
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            Client(await _target(spec, environ, errlog, stack))
        )
        listed = await client.list_tools()
        info = client.server_info
        tools = tuple(ToolInfo(t.name, (t.description or "").strip()) for t in listed.tools)
        return Probe(tools=tools, server=info.name if info is not None else None)


async def _target(
    spec: StdioSpec | UrlSpec,
    environ: Mapping[str, str],
    errlog: IO[str],
    stack: contextlib.AsyncExitStack,
) -> Any:
    if isinstance(spec, StdioSpec):
        env = {**environ, **{k: expand(v, environ) for k, v in spec.env.items()}}
        params = StdioServerParameters(
            command=expand(spec.command, environ),
            args=[expand(a, environ) for a in spec.args],
            env=env,
        )
        # The server's stderr goes to errlog (a real file: the child process writes to it).
        return stdio_client(params, errlog=errlog)  # type: ignore[arg-type]
    headers = {k: expand(v, environ) for k, v in spec.headers.items()}
    url = expand(spec.url, environ)
    if spec.type == "sse":
        return sse_client(url, headers=headers)
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=30))
    return streamable_http_client(url, http_client=http)


def _reason(exc: BaseException, *, stdio: bool) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"the command was not found ({exc.filename or exc})"
    if isinstance(exc, PermissionError):
        return f"the command may not be run ({exc.filename or exc})"
    text = (str(exc).strip() or type(exc).__name__)[:500]
    if stdio and "closed" in text.lower():
        return f"it exited before answering ({text})"
    if isinstance(exc, httpx2.HTTPError | OSError):
        return f"could not reach the URL ({text})"
    return text


def _secret_values(spec: StdioSpec | UrlSpec, environ: Mapping[str, str]) -> list[str]:
    values = [environ[var] for var in references(spec) if environ.get(var)]
    values += [expand(v, environ) for v in spec.secrets().values()]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _mask(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "***")
    return text
