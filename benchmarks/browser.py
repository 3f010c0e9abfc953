"""The owner's browser: navigate + snapshot through Jobs vs a bare SDK session, the stack's
memory, and how soon the browser is back after Chromium is killed.

(a) Jobs: the whole of Jobs (`run_telegram` on the fake Telegram, as benchmarks/pipeline.py
    runs it) with BROWSER_CDP_URL set: the owner writes "note <tag>", the scripted model calls
    mcp__browser__browser_navigate, then mcp__browser__browser_snapshot, then answers; timed
    to the reply's send. Jobs' `browser` server is in-process and passes the calls to its one
    Playwright MCP process.
(b) bare: a ClaudeSDKClient with the owner's options and the same Playwright MCP server as a
    stdio server of the CLI's own (same command, arguments and token), same script; timed
    from query to ResultMessage.
Both run against one browser service (browser/start.sh on free ports), warm, alternating.

Memory: PSS (/proc/PID/smaps_rollup) of every process of the stack with one live owner
session, while Jobs' Playwright MCP server runs and after its idle stop: Jobs (this process,
with the in-process fakes: an upper bound), the Claude Code CLI, the Playwright MCP server,
and the browser service's parts. Recovery: a fresh service per sample, Chromium killed with
-9, the time until CDP answers through the proxy again, and until a navigate through Jobs'
tools works. Figures only, no assertions.

    .venv/bin/python benchmarks/browser.py [--turns 20] [--recoveries 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.pipeline import Bare, Pipeline, Sample, Stamps, p90, settings_in  # noqa: E402
from jobs.extensions.browser import (  # noqa: E402
    BrowserConfig,
    find_playwright_mcp,
    playwright_mcp_config,
)
from jobs.extensions.playwright import pinned_tools  # noqa: E402
from jobs.sessions.process import descendants  # noqa: E402
from jobs.tools.browser import BrowserTools  # noqa: E402
from tests.browser.service import BrowserService  # noqa: E402
from tests.fakes.anthropic import Call, FakeAnthropic, Turn, inherited_claude_vars, text, tool_use  # noqa: E402  # noqa: E402

NAVIGATE, SNAPSHOT = "mcp__browser__browser_navigate", "mcp__browser__browser_snapshot"
PAGE = b"<!doctype html><title>Bench</title><h1>Hello</h1><p>A page.</p><a href=/x>x</a>"


def serve_page() -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def browse_script(stamps: Stamps, page: str) -> object:
    """ "note <tag>" / "bare <tag>" → navigate, snapshot, then "ok <tag>"."""

    def script(call: Call) -> Turn:
        now = time.perf_counter()
        asked = next(t for t in reversed(call.user_texts) if t.startswith(("note ", "bare ")))
        tag = asked.rsplit(" ", 1)[-1]
        if not call.tool_results:
            with stamps.lock:
                stamps.model.setdefault(tag, now)
            return tool_use(NAVIGATE, {"url": f"{page}?{tag}"})
        if "Page URL" in str(call.tool_results) and "### Ran Playwright code" in str(
            call.tool_results
        ):
            return tool_use(SNAPSHOT)
        return text(f"ok {tag}")

    return script


def pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    return ""


def kind(pid: int) -> str:
    """A name for the memory table: the service's parts, Chromium by process type."""
    line = cmdline(pid)
    if "playwright-mcp" in line:
        return "Playwright MCP server"
    if "claude" in line.split(" ")[0]:
        return "Claude Code CLI (owner session)"
    if "cdp_proxy.py" in line:
        return "CDP proxy"
    if "websockify" in line:
        return "websockify (noVNC)"
    if "chromium" in line:
        found = re.search(r"--type=(\S+)", line)
        return f"Chromium {found.group(1) if found else 'browser'}"
    name = Path(f"/proc/{pid}/comm").read_text().strip() if Path(f"/proc/{pid}").exists() else ""
    return {"bash": "start.sh (bash)"}.get(name, name)


def memory(label: str) -> None:
    """Every process of the stack is this one or below it (the browser service included)."""
    ours = descendants(os.getpid())
    rows: dict[str, list[int]] = {"Jobs (this process, with the fakes)": [pss_kb(os.getpid())]}
    for pid in ours:
        rows.setdefault(kind(pid), []).append(pss_kb(pid))
    total = sum(sum(v) for v in rows.values())
    print(f"\nPSS, {label}: {total / 1024:.0f} MiB in all")
    for name, values in sorted(rows.items(), key=lambda item: -sum(item[1])):
        print(f"  {name:<40} {sum(values) / 1024:7.1f} MiB  ({len(values)} process(es))")
    others = [
        p for p in Path("/proc").iterdir()
        if p.name.isdigit() and int(p.name) not in ours and "chromium" in cmdline(int(p.name))
    ]  # fmt: skip
    if others:  # they share Chromium's pages, so ours look smaller than on their own
        print(f"  (other Chromium processes on this machine: {len(others)})")


def summary(name: str, samples: list[Sample]) -> float:
    totals = [s.total * 1000 for s in samples]
    med = statistics.median(totals)
    print(f"{name:<34} median {med:7.1f} ms   p90 {p90(totals):7.1f} ms")
    return med


async def latency(turns: int, tmp: Path, service: BrowserService, page: str) -> None:
    stamps = Stamps()
    model = FakeAnthropic(default=browse_script(stamps, page)).start()  # type: ignore[arg-type]
    env = model.env(home=tmp / "claude-home", IS_SANDBOX="1", ENABLE_TOOL_SEARCH="false",
                    CLAUDE_CODE_MAX_RETRIES="0", API_TIMEOUT_MS="30000")  # fmt: skip
    browser = {"browser_cdp_url": service.cdp_url, "browser_token_file": service.token_file}
    settings = settings_in(tmp).model_copy(update={**browser, "browser_idle_seconds": 15})
    jobs = Pipeline(settings, env, stamps, rtt=0)
    command = find_playwright_mcp()
    assert command is not None, "npm ci in browser/ first"
    out = tmp / "bare" / "out"
    config = BrowserConfig(
        cdp_url=service.cdp_url, mcp_command=command, output_dir=out, token_file=service.token_file
    )
    names = [f"mcp__browser__{tool.name}" for tool in pinned_tools()]
    servers = {"browser": playwright_mcp_config(config)}  # run by the CLI itself
    bare = Bare(settings_in(tmp / "bare"), env, stamps, servers=servers, mcp_tools=names)
    try:
        await jobs.start()
        await jobs.turn("warm-a")  # the owner's first browser turn starts its MCP server
        await memory_phases(jobs, "after one browser turn")
        await bare.client.connect()
        await bare.turn("warm-b")
        a, b = [], []
        for i in range(turns):  # alternate, so drift hits both alike
            a.append(await jobs.turn(f"a{i}"))
            b.append(await bare.turn(f"b{i}"))
        print(f"\nnavigate + snapshot, {turns} warm turns each, alternating:\n")
        med_a = summary("(a) Jobs, Telegram→reply", a)
        med_b = summary("(b) bare SDK session, query→result", b)
        print(f"\nratio median a/b: {med_a / med_b:.3f}; Jobs adds {med_a - med_b:.1f} ms a turn")
        await bare.client.disconnect()
        await memory_phases(jobs, f"after {turns + 1} browser turns", running=False)
    finally:
        with contextlib.suppress(Exception):
            await bare.client.disconnect()
        await jobs.stop()
        model.stop()


async def memory_phases(jobs: Pipeline, when: str, *, running: bool = True) -> None:
    """PSS while the Playwright MCP server runs (if asked), then once it stopped."""
    await asyncio.sleep(2)
    if running:
        memory(f"{when}, one live owner session, Playwright MCP server running")
    await asyncio.sleep(20)  # BROWSER_IDLE_SECONDS=15 here (300 by default)
    memory(f"{when}, one live owner session, idle (Playwright MCP server stopped)")


async def recovery(samples: int, tmp: Path, page: str) -> None:
    command = find_playwright_mcp()
    assert command is not None
    health, works = [], []
    for i in range(samples):
        service = BrowserService.on(tmp / f"r{i}").start()
        config = BrowserConfig(cdp_url=service.cdp_url, mcp_command=command,
                               output_dir=tmp / "out", token_file=service.token_file)  # fmt: skip
        tools = BrowserTools.over(config, workspace=tmp)
        try:
            assert not (await tools.call("browser_navigate", {"url": page})).is_error
            chromium = service.chromium_pid()
            assert chromium is not None
            killed = time.perf_counter()
            os.kill(chromium, signal.SIGKILL)
            while not service.healthy():  # noqa: ASYNC110 - polling is the measurement
                await asyncio.sleep(0.02)
            health.append(time.perf_counter() - killed)
            while (await tools.call("browser_navigate", {"url": page})).is_error:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            works.append(time.perf_counter() - killed)
        finally:
            await tools.aclose()
            service.stop()
    print(f"\nafter kill -9 of Chromium ({samples} samples, a fresh service each):")
    print(f"  CDP answers again  median {statistics.median(health):.2f} s  max {max(health):.2f} s")
    print(f"  a navigate works   median {statistics.median(works):.2f} s  max {max(works):.2f} s")


async def main_async(turns: int, recoveries: int, tmp: Path) -> None:
    page, server = serve_page()
    service = BrowserService.on(tmp / "service").start()
    try:
        await latency(turns, tmp, service, page)
        if recoveries:
            await recovery(recoveries, tmp, page)
    finally:
        service.stop()
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--recoveries", type=int, default=5)
    args = parser.parse_args()
    for name in inherited_claude_vars():  # the SDK passes os.environ to the CLI
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as tmp:
        asyncio.run(main_async(args.turns, args.recoveries, Path(tmp)))


if __name__ == "__main__":
    main()
