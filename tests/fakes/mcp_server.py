"""A tiny real MCP server over stdio (the `mcp` package), for tests of owner-managed MCP servers.

Run it as `python tests/fakes/mcp_server.py [--name NAME] [--crash MESSAGE]`. Tools:
`echo(text)`, `add(a, b)`, `read_env(name)` (the value of an environment variable, so a
test can see what a `${VAR}` reference resolved to) and `fetch(url)` (a page from a server
on 127.0.0.1 only: the owner's own "web" server, reading what a stranger's page says).
`--crash` writes MESSAGE to stderr and exits with status 3 before speaking MCP, like a server
missing its configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from mcp.server.mcpserver import MCPServer

SCRIPT = Path(__file__).resolve()
TOOLS = ("echo", "add", "read_env", "fetch")


def command(*extra: str) -> tuple[str, list[str]]:
    """The `command` and `args` that start this server (for an MCP stdio config)."""
    return sys.executable, [str(SCRIPT), *extra]


def make_server(name: str) -> MCPServer:
    server: MCPServer = MCPServer(name)

    @server.tool(description="Repeat the text back.")
    def echo(text: str) -> str:
        return f"echo: {text}"

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> str:
        return f"sum={a + b}"

    @server.tool(description="The value of an environment variable of this server.")
    def read_env(name: str) -> str:
        return os.environ.get(name, "(unset)")

    @server.tool(description="The text of a web page (loopback addresses only).")
    def fetch(url: str) -> str:
        if urllib.parse.urlsplit(url).hostname != "127.0.0.1":
            return "refused: only 127.0.0.1 in tests"
        with urllib.request.urlopen(url, timeout=10) as page:
            return str(page.read().decode("utf-8", "replace"))

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="fake")
    parser.add_argument("--crash", default=None)
    args = parser.parse_args()
    if args.crash is not None:
        sys.stderr.write(args.crash + "\n")
        sys.exit(3)
    make_server(args.name).run("stdio")


if __name__ == "__main__":
    main()
