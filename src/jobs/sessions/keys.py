"""SessionKey: which session a turn belongs to — the owner's, a person's, a task's, or a
throwaway one reading outside text — as a value, not a string spelled in several places.

Stored as text ("owner", "external:<user id>", "task:<task id>", "trigger:<token>"), the
form SessionRepo rows, audit entries and approvals already use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

KeyKind = Literal["owner", "person", "task", "trigger"]

_PREFIXES: Final[dict[KeyKind, str]] = {
    "person": "external:",
    "task": "task:",
    "trigger": "trigger:",
}


@dataclass(frozen=True, slots=True, order=True)
class SessionKey:
    """One session's identity; `str(key)` is its stored form."""

    kind: KeyKind
    ident: str = ""

    def __str__(self) -> str:
        return "owner" if self.kind == "owner" else f"{_PREFIXES[self.kind]}{self.ident}"

    @classmethod
    def person(cls, user_id: int, /) -> SessionKey:
        return cls("person", str(user_id))

    @classmethod
    def task(cls, task_id: int, /) -> SessionKey:
        return cls("task", str(task_id))

    @classmethod
    def trigger(cls, token: str, /) -> SessionKey:
        return cls("trigger", token)

    @classmethod
    def parse(cls, text: str, /) -> SessionKey:
        """The key a stored string names; ValueError for anything else."""
        if text == "owner":
            return OWNER_KEY
        for kind, prefix in _PREFIXES.items():
            rest = text.removeprefix(prefix)
            if rest != text and rest and (kind == "trigger" or rest.isdigit()):
                return cls(kind, rest)
        raise ValueError(f"not a session key: {text[:40]!r}")

    @property
    def task_id(self) -> int | None:
        return int(self.ident) if self.kind == "task" else None

    @property
    def person_id(self) -> int | None:
        return int(self.ident) if self.kind == "person" else None

    @property
    def is_owner(self) -> bool:
        return self.kind == "owner"


OWNER_KEY: Final = SessionKey("owner")
