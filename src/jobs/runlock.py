"""The single-instance lock: one `jobs run` per DATA_DIR, released when the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from jobs.errors import AlreadyRunning


class RunLock:
    """An exclusive flock on DATA_DIR/jobs.lock; the kernel drops it if the process is killed."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "jobs.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Part of the error below: errors stay English (a setting error comes first).
            holder = (
                os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            )  # i18n: skip
            os.close(fd)
            raise AlreadyRunning(
                f"Jobs is already running on {self.path.parent} (pid {holder}). "
                "Stop it first, or use another DATA_DIR."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
