"""browser/start.sh and browser/cdp_proxy.py run as processes on free ports, for the browser
tests and the end-to-end ones: BrowserService, run_proxy, and what they need to find."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobs.extensions.browser import find_playwright_mcp

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "browser" / "start.sh"
PROXY = ROOT / "browser" / "cdp_proxy.py"
TOKEN = "t0ken-for-tests-Qx81"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
"""What a client of run_proxy() must send."""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def needs_browser() -> tuple[str, tuple[str, ...]]:
    """Chromium's path and the MCP server's command, or skip saying what to install."""
    binary = chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    command = find_playwright_mcp()
    if command is None or shutil.which("node") is None:
        pytest.skip("@playwright/mcp is not installed (npm ci in browser/)")
    return binary, command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_display() -> str:
    for _ in range(100):
        n = random.randint(100, 900)
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return f":{n}"
    raise RuntimeError("no free X display number")


def children(pid: int) -> dict[int, str]:
    """Direct child processes of `pid`: pid → command name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found[int(entry.name)] = comm
    return found


def wait_until(ok: Callable[[], bool], *, within: float, what: str) -> None:
    """Poll `ok` until it is true; fail after `within` seconds (a generous bound, no timing)."""
    deadline = time.monotonic() + within
    while not ok():
        assert time.monotonic() < deadline, f"not within {within:g} s: {what}"
        time.sleep(0.05)


async def eventually(ok: Callable[[], bool], *, within: float, what: str) -> None:
    """wait_until for async tests: the event loop runs while it waits."""
    deadline = time.monotonic() + within
    while not ok():
        assert time.monotonic() < deadline, f"not within {within:g} s: {what}"
        await asyncio.sleep(0.05)


@contextmanager
def run_proxy(*args: str, token: str = TOKEN, log: Path | None = None) -> Iterator[int]:
    """browser/cdp_proxy.py (as the start script runs it) on a free port, until the end;
    `token` is what clients must send; its output goes to `log`, if given."""
    port = free_port()
    with Path(log or os.devnull).open("w") as quiet, tempfile.TemporaryDirectory() as folder:
        token_file = Path(folder) / "token"
        token_file.write_text(token + "\n")
        proxy = subprocess.Popen(
            [sys.executable, str(PROXY), "--listen", f"127.0.0.1:{port}",
             "--token-file", str(token_file), *args],
            stderr=quiet,
        )  # fmt: skip
        try:
            wait_until(lambda: _accepts(port) or proxy.poll() is not None, within=10, what="proxy")
            assert proxy.poll() is None, "the proxy exited at start"
            yield port
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
    except OSError:
        return False
    return True


@contextmanager
def running_service(home: Path) -> Iterator[BrowserService]:
    """A BrowserService of its own in `home`, started (or the test skipped), then stopped."""
    needs_browser()
    service = BrowserService.on(home)
    try:
        yield service.start()
    finally:
        service.stop()


@dataclass
class BrowserService:
    """browser/start.sh running on free ports with its own profile, downloads and token."""

    home: Path
    env: dict[str, str]
    prefix: tuple[str, ...] = ()
    """Runs the script under this command (setpriv: as another user)."""
    script: Path = START
    """start.sh (a copy, for a user who cannot read the checkout); cdp_proxy.py next to it."""
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    drainer: threading.Thread | None = None

    @classmethod
    def on(cls, home: Path, **extra: str) -> BrowserService:
        env = {
            **os.environ,
            "BROWSER_DISPLAY": free_display(),
            "BROWSER_PROFILE_DIR": str(home / "profile"),
            "BROWSER_DOWNLOADS_DIR": str(home / "downloads"),
            "BROWSER_TOKEN_FILE": str(home / "cdp-token"),
            "CDP_PORT": str(free_port()),
            "CDP_PROXY_PORT": str(free_port()),
            "VNC_PORT": str(free_port()),
            "NOVNC_PORT": str(free_port()),
            # TMPDIR stays /tmp: Chromium's socket path there must fit in 107 bytes (start.sh
            # removes what it leaves)
            **extra,
        }
        return cls(home=home, env=env)

    @property
    def cdp_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CDP_PROXY_PORT']}"

    @property
    def token_file(self) -> Path:
        return Path(self.env["BROWSER_TOKEN_FILE"])

    @property
    def auth(self) -> dict[str, str]:
        """The header Jobs sends the proxy."""
        return {"Authorization": f"Bearer {self.token_file.read_text().strip()}"}

    @property
    def novnc_port(self) -> int:
        return int(self.env["NOVNC_PORT"])

    @property
    def password(self) -> str:
        return (self.home / "profile" / ".novnc-password").read_text().strip()

    def viewer_url(self) -> str:
        query = urllib.parse.urlencode({"autoconnect": 1, "password": self.password})
        return f"http://127.0.0.1:{self.novnc_port}/vnc.html?{query}"

    def get(self, path: str) -> bytes:
        """GET through the proxy, with the token (loopback only)."""
        request = urllib.request.Request(self.cdp_url + path, headers=self.auth)
        with urllib.request.urlopen(request, timeout=5) as reply:
            body: bytes = reply.read()
            return body

    def parts(self) -> dict[int, str]:
        """The script's running parts: pid → command name."""
        assert self.process is not None
        return children(self.process.pid)

    def chromium_pid(self) -> int | None:
        return next((pid for pid, name in self.parts().items() if name == "chromium"), None)

    def start(self, timeout: float = 60) -> BrowserService:
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [*self.prefix, "bash", str(self.script)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if "viewer:" in line:
                self.drainer = threading.Thread(target=self._drain, daemon=True)
                self.drainer.start()
                return self
        self.stop()
        raise RuntimeError("start.sh did not get ready:\n" + "".join(self.lines))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """`start.sh health` or `start.sh link` with this service's settings."""
        return subprocess.run(
            ["bash", str(self.script), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def healthy(self) -> bool:
        return self.run("health").returncode == 0

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        if self.drainer is not None:
            self.drainer.join(timeout=10)  # it ends at EOF, once the script's output closes
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code
