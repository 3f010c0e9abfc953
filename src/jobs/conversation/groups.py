"""EnabledGroups: the group chats the owner enabled, kept in memory for the Telegram handler
(asked for every group message) and the router; only the owner's tools change them."""

from __future__ import annotations

from jobs.storage.groups import Group, GroupRepo


class EnabledGroups:
    """The enabled groups; `restore` loads them at start."""

    def __init__(self, *, repo: GroupRepo) -> None:
        self._repo = repo
        self._ids: frozenset[int] = frozenset()

    async def restore(self) -> int:
        self._ids = frozenset(group.chat_id for group in await self._repo.all())
        return len(self._ids)

    def watching(self, chat_id: int, /) -> bool:
        """For the Telegram handler's filter (no await: it runs for every group message)."""
        return chat_id in self._ids

    async def enabled(self, chat_id: int, /) -> bool:
        return chat_id in self._ids

    async def enable(self, chat_id: int, title: str, /) -> bool:
        """False when it was enabled already."""
        added = await self._repo.enable(chat_id, title)
        self._ids |= {chat_id}
        return added

    async def disable(self, chat_id: int, /) -> bool:
        """False when it was not enabled."""
        removed = await self._repo.disable(chat_id)
        self._ids -= {chat_id}
        return removed

    async def all(self) -> list[Group]:
        return await self._repo.all()
