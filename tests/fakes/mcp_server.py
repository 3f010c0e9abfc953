"""A tiny real MCP server over stdio (the `mcp` package), for tests of owner-managed MCP servers.

Run it as `python tests/fakes/mcp_server.py [--name NAME] [--crash MESSAGE]`. Tools:
`echo(text)`, `add(a, b)` and `read_env(name)` (the value of an environment variable, so a
test can see what a `${VAR}` reference resolved to). `--crash` writes MESSAGE to stderr and
exits with status 3 before speaking MCP, like a server missing its configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

SCRIPT = Path(__file__).resolve()
TOOLS = ("echo", "add", "read_env")


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
