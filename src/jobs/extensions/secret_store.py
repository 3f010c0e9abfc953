"""SecretStore: the owner's secrets given in chat (/secret NAME), by name, in DATA_DIR/secrets.json.

The file is readable by Jobs' user alone (0600, written atomically) and sits outside the
database, so no backup of it, no SQL dump and no audit query holds a value. It is not
encrypted: any key would sit next to it, readable by the same user, and would add only the
look of safety. What keeps a value away from the model is that it never enters a prompt:
sessions and MCP configs name it (`${NAME}`), and Jobs resolves it only inside the process
that needs it (extensions/secret_launch.py). A program running as Jobs' user (the owner's
own shell tools among them) can read the file, as it can read `.env`.

Every value is added to KnownSecrets as it is loaded or stored, so it is masked in everything
Jobs sends or logs from that moment; a deleted value stays masked until Jobs restarts.
The store also remembers that the owner's next message is a secret's value (`awaiting`), so a
restart between `/secret NAME` and the value cannot let the value through as a message.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Final

from pydantic import BaseModel

from jobs.errors import ExtensionError
from jobs.extensions.references import PROTECTED_VARS
from jobs.extensions.state import read_state, write_state
from jobs.redaction import KnownSecrets

NAME: Final = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MIN_VALUE: Final = 8
"""Shorter values would be masked inside ordinary words and numbers; they are refused."""
MAX_VALUE: Final = 4096
MAX_SECRETS: Final = 100
FILE_NAME: Final = "secrets.json"


class Awaiting(BaseModel):
    """The owner's next message in `chat_id` before `until` is the value of `name`."""

    chat_id: int
    name: str
    until: datetime


class SecretsFile(BaseModel):
    values: dict[str, str] = {}
    awaiting: Awaiting | None = None


def check_name(name: str, /) -> str:
    """`name` if it can name a secret, else ExtensionError saying why."""
    if not NAME.fullmatch(name):
        raise ExtensionError(
            f"{name[:40]!r} is not a secret name: capital letters, digits and _, starting with a "
            "letter, at most 64 characters (like GITHUB_TOKEN)."
        )
    if PROTECTED_VARS.match(name):
        raise ExtensionError(f"{name} would shadow Jobs' own settings (TG_, ANTHROPIC_, CLAUDE_).")
    return name


class SecretStore:
    """Names → values, in a 0600 file (see the module docstring)."""

    def __init__(self, *, path: Path, known: KnownSecrets) -> None:
        self._path = path
        self._known = known
        self._state = read_state(path, SecretsFile)
        self.revision = 0
        for value in self._state.values.values():
            known.add(value)

    @property
    def path(self) -> Path:
        return self._path

    def names(self) -> list[str]:
        return sorted(self._state.values)

    def __contains__(self, name: object) -> bool:
        return name in self._state.values

    def values(self) -> dict[str, str]:
        """Every name → value, for the process that needs them (never for text)."""
        return dict(self._state.values)

    def put(self, name: str, value: str, /) -> bool:
        """Store `value` as `name` (masked from now on); True when it replaced one."""
        check_name(name)
        value = value.strip()
        if len(value) < MIN_VALUE:
            raise ExtensionError(
                f"That value is shorter than {MIN_VALUE} characters: too short to be masked "
                "reliably, so it was not stored."
            )
        if len(value) > MAX_VALUE:
            raise ExtensionError(f"That value is longer than {MAX_VALUE} characters.")
        replaced = name in self._state.values
        if not replaced and len(self._state.values) >= MAX_SECRETS:
            raise ExtensionError(f"There are already {MAX_SECRETS} secrets; delete some first.")
        self._known.add(value)  # before anything could write it anywhere
        self._save(SecretsFile(values={**self._state.values, name: value}))
        self.revision += 1
        return replaced

    def remove(self, name: str, /) -> bool:
        """Forget `name`; its value stays masked until Jobs restarts. False: no such secret."""
        if name not in self._state.values:
            return False
        values = {k: v for k, v in self._state.values.items() if k != name}
        self._save(SecretsFile(values=values, awaiting=self._state.awaiting))
        self.revision += 1
        return True

    def expect(self, chat_id: int, name: str, until: datetime, /) -> None:
        """The owner's next message in `chat_id` (before `until`) is `name`'s value."""
        check_name(name)
        awaiting = Awaiting(chat_id=chat_id, name=name, until=until)
        self._save(SecretsFile(values=self._state.values, awaiting=awaiting))

    def awaited(self, chat_id: int, now: datetime, /) -> str | None:
        """The name whose value the owner's next message in `chat_id` is, if one is awaited."""
        awaiting = self._state.awaiting
        if awaiting is None or awaiting.chat_id != chat_id or awaiting.until <= now:
            return None
        return awaiting.name

    def stop_waiting(self) -> None:
        if self._state.awaiting is not None:
            self._save(SecretsFile(values=self._state.values))

    def _save(self, state: SecretsFile) -> None:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            write_state(self._path, state, private=True)
        except OSError as exc:  # a full disk is DiskFull already
            raise ExtensionError(f"Could not write {self._path}: {exc.strerror or exc}") from exc
        self._state = state
