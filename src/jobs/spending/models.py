"""ModelBook: the model (and fallback) each role's sessions run — the owner's choice (/model,
kept in the database) over the settings' — applied to a RoleSpec at every turn."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from jobs.sessions.roles import RoleSpec
from jobs.spend_terms import Models
from jobs.storage import ControlRepo

GROUPS: Final = ("owner", "people", "tasks", "triggers")
"""Whose model the owner chooses: their own, other people's, tasks', channel readers'."""
_GROUP_OF_ROLE: Final = {
    "owner": "owner",
    "external": "people",
    "task": "tasks",
    "trigger": "triggers",
}
ALIASES: Final = {
    "me": "owner",
    "mine": "owner",
    "person": "people",
    "others": "people",
    "strangers": "people",
    "task": "tasks",
    "trigger": "triggers",
    "channels": "triggers",
}


def group_of(word: str, /) -> str | None:
    """The group a word of the owner's names (owner, people, tasks, triggers), or None."""
    word = word.strip().lower()
    return word if word in GROUPS else ALIASES.get(word)


class ModelBook:
    """Implements jobs.sessions.roles.ModelSource. `load()` once at start."""

    def __init__(self, *, defaults: Mapping[str, Models], repo: ControlRepo) -> None:
        """`defaults`: the settings' choice per group (OWNER_MODEL, PEOPLE_MODEL, …)."""
        self._defaults = dict(defaults)
        self._repo = repo
        self._chosen: dict[str, Models] = {}

    async def load(self) -> None:
        stored = await self._repo.models()
        self._chosen = {
            group: Models(row.model, row.fallback)
            for group, row in stored.items()
            if group in GROUPS
        }

    def apply(self, role: RoleSpec, /) -> RoleSpec:
        group = _GROUP_OF_ROLE.get(role.name)
        if group is None:
            return role
        chosen = self.of(group)
        if (role.model, role.fallback_model) == (chosen.model, chosen.fallback):
            return role
        return dataclasses.replace(role, model=chosen.model, fallback_model=chosen.fallback)

    def of(self, group: str, /) -> Models:
        return self._chosen.get(group) or self._defaults.get(group) or Models()

    def chosen_by_owner(self, group: str, /) -> bool:
        return group in self._chosen

    async def choose(self, group: str, models: Models | None, /) -> None:
        """The owner's choice for `group`; None: back to the setting. Live sessions of that
        group restart (resumed) before their next turn."""
        if models is None:
            await self._repo.drop_model(group)
            self._chosen.pop(group, None)
            return
        await self._repo.set_model(group, models.model, models.fallback)
        self._chosen[group] = models
