"""How long `jobs run` takes to give up when Telegram cannot be reached at start, with the default
TG_CONNECT_TIMEOUT_SECONDS (25): refused (a closed port), black-holed (SYNs dropped: a listener
with a full backlog) and silent (connects, never answers). Each is a real `jobs run` process on
127.0.0.1; it prints the seconds until it exited and the line it ended with. Figures only.

    .venv/bin/python benchmarks/unreachable.py
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from telethon.crypto import AuthKey
from telethon.sessions import StringSession


def session_to(port: int) -> str:
    session = StringSession()
    session.set_dc(2, "127.0.0.1", port)
    session.auth_key = AuthKey(os.urandom(256))
    return str(StringSession.save(session))


@contextlib.contextmanager
def refused() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    yield port


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname()):
            yield int(listener.getsockname()[1])


@contextlib.contextmanager
def silent() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()
        for conn in held:
            conn.close()


def give_up(port: int, home: Path) -> tuple[float, int, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "JOBS_HOME": str(home),
        "TG_API_ID": "12345",
        "TG_API_HASH": "0123456789abcdef0123456789abcdef",
        "TG_USER_ID": "1000",
        "TG_SESSION": session_to(port),
        "ANTHROPIC_API_KEY": "sk-unused",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "run"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    return time.monotonic() - start, done.returncode, lines[-1] if lines else ""


def main() -> None:
    cases = {"refused": refused, "black-holed": black_hole, "silent": silent}
    print("jobs run, Telegram unreachable at start (TG_CONNECT_TIMEOUT_SECONDS=25):\n")
    for name, make in cases.items():
        with tempfile.TemporaryDirectory(prefix="jobs-unreachable-") as tmp, make() as port:
            seconds, code, line = give_up(port, Path(tmp))
        print(f"{name:<12} exit {code} after {seconds:5.1f} s: {line}")


if __name__ == "__main__":
    main()
