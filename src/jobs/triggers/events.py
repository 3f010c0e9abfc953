"""TriggerEvent (what woke Jobs) and TriggerOutcome (what came of it): the values of triggers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from jobs.messages import OutboundMessage


class TriggerSource(StrEnum):
    """Where an event came from (also the `source` of stored subscriptions)."""

    SCHEDULER = "scheduler"
    HEARTBEAT = "heartbeat"
    TG_CHANNEL = "tg_channel"


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """Something that should make Jobs act without being asked in a message.

    `payload` is what the session reads. When `trusted` is False it is text nobody trusted
    typed (channel posts): the executor frames it as data and the turn is tainted, while
    `instructions` (the owner's own words about this source) stay trusted. `dedup_key` is
    the same for the same happening, however often it is reported.
    """

    source: TriggerSource
    payload: str
    trusted: bool
    dedup_key: str
    title: str = ""
    """A short name the owner recognises: the schedule's name, the channel's title."""
    instructions: str = ""
    task_id: int | None = None
    """Run in this delegated task's session instead of the owner's."""
    header: str = ""
    """The first line of what the owner receives (says what fired, and if it is late)."""
    slot: str = ""
    """Which trigger it is, however often it fires: schedule:<id>, heartbeat, channel:<chat>
    (what /usage and the budgets count it as; a held firing replaces the slot's older one)."""

    @property
    def charge_slot(self) -> str:
        return self.slot or self.source.value

    def to_json(self) -> str:
        """The event as stored while /pause holds it."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, /) -> TriggerEvent:
        data: dict[str, Any] = json.loads(text)
        data["source"] = TriggerSource(data["source"])
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True, slots=True)
class TriggerOutcome:
    """What a trigger's turn produced: the messages for the owner (possibly none)."""

    ok: bool
    messages: tuple[OutboundMessage, ...] = ()
    note: str = ""
    """One line for the ledger and the log: what happened."""
