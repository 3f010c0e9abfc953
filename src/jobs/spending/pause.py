"""PauseSwitch: whether /pause holds every turn the owner did not start (kept in the database,
so a restart keeps it)."""

from __future__ import annotations

from datetime import datetime

from jobs.storage import ControlRepo


class PauseSwitch:
    """`load()` once at start; `paused` is then read without IO at every turn."""

    def __init__(self, *, repo: ControlRepo) -> None:
        self._repo = repo
        self._since: datetime | None = None

    async def load(self) -> None:
        self._since = await self._repo.paused_since()

    @property
    def paused(self) -> bool:
        return self._since is not None

    @property
    def since(self) -> datetime | None:
        return self._since

    async def pause(self) -> bool:
        """Paused from now (stored first); False when it already was."""
        changed = await self._repo.pause()
        self._since = await self._repo.paused_since()
        return changed

    async def resume(self) -> bool:
        """Not paused any more; False when it was not."""
        changed = await self._repo.resume()
        self._since = None
        return changed
