"""Fixtures for the delegation unit tests: a real database, a clock that moves when told, and
stand-ins for the two protocols the tools call (a PersonResolver, a TaskRunner)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from jobs.storage import Database, PeopleRepo
from jobs.tools.messaging import Candidate, PersonLookup
from tests.fakes.clock import FakeClock as FakeClock  # re-exported for the tests here

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BOB = Candidate(42, "Bob Builder", username="bob", phone="+15550000042", is_contact=True)
BOBBY = Candidate(44, "Bob Marley", username="bobby", is_contact=True)
ALICE = Candidate(43, "Alice", username="alice", is_contact=True)


class Directory:
    """A PersonResolver over a fixed list: "@name" by username, digits by id, else by name."""

    def __init__(self, *people: Candidate) -> None:
        self.people = people
        self.queries: list[str] = []

    async def resolve(self, query: str, /) -> list[Candidate]:
        self.queries.append(query)
        q = query.strip().lower()
        if q.startswith("@"):
            return [p for p in self.people if (p.username or "").lower() == q[1:]]
        if q.isdigit():
            return [p for p in self.people if p.user_id == int(q)]
        return [p for p in self.people if q in p.name.lower()]


@dataclass
class Runner:
    """A TaskRunner that only records what it was asked to do."""

    started: list[int] = field(default_factory=list)
    told: list[tuple[int, str]] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    running: bool = False
    """What stop() answers: whether the task's session was running a turn."""

    def start(self, task_id: int, /) -> None:
        self.started.append(task_id)

    def tell(self, task_id: int, text: str, /) -> None:
        self.told.append((task_id, text))

    async def stop(self, task_id: int, /) -> bool:
        self.stopped.append(task_id)
        return self.running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def directory() -> Directory:
    return Directory(BOB, BOBBY, ALICE)


@pytest.fixture
def lookup(db: Database, directory: Directory) -> PersonLookup:
    return PersonLookup(people=PeopleRepo(db), resolver=directory)
