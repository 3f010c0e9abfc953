"""The tool list of the installed @playwright/mcp, started as Jobs starts it (no browser needed:
it lists its tools before connecting). Run as a script to rewrite
src/jobs/extensions/playwright_tools.json after changing the pinned version:

    .venv/bin/python -m tests.browser.pinned_tools
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client

from jobs.extensions.browser import BrowserConfig, find_playwright_mcp, playwright_mcp_config
from jobs.extensions.playwright import TOOLS_FILE


async def live_tools(command: tuple[str, ...]) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = playwright_mcp_config(
            BrowserConfig(cdp_url="http://127.0.0.1:9", mcp_command=command, output_dir=Path(tmp))
        )
        params = StdioServerParameters(
            command=config["command"], args=list(config.get("args") or ()), cwd=tmp
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            listed = (await session.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed]


def main() -> None:
    command = find_playwright_mcp()
    if command is None:
        raise SystemExit("@playwright/mcp is not installed (npm ci in browser/)")
    tools = asyncio.run(live_tools(command))
    TOOLS_FILE.write_text(json.dumps(tools, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(tools)} tools to {TOOLS_FILE}")  # noqa: T201 - a script's one line


if __name__ == "__main__":
    main()
