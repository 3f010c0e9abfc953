"""Repos: every repository over one database, made once by the app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jobs.redaction import KnownSecrets
from jobs.storage.approvals import ApprovalRepo
from jobs.storage.audit import AuditRepo
from jobs.storage.budgets import BudgetRepo
from jobs.storage.controls import ControlRepo
from jobs.storage.database import Database
from jobs.storage.grants import GrantRepo
from jobs.storage.held_events import HeldEventRepo
from jobs.storage.inbox import InboxRepo
from jobs.storage.languages import LanguageRepo
from jobs.storage.outbox import OutboxRepo
from jobs.storage.people import PeopleRepo
from jobs.storage.sessions import SessionRepo
from jobs.storage.tainted_files import TaintedFileRepo
from jobs.storage.tasks import TaskRepo
from jobs.storage.triggers import TriggerRepo
from jobs.storage.usage import UsageRepo


@dataclass(frozen=True, slots=True)
class Repos:
    inbox: InboxRepo
    outbox: OutboxRepo
    people: PeopleRepo
    languages: LanguageRepo
    sessions: SessionRepo
    tasks: TaskRepo
    triggers: TriggerRepo
    approvals: ApprovalRepo
    grants: GrantRepo
    audit: AuditRepo
    usage: UsageRepo
    tainted_files: TaintedFileRepo
    budgets: BudgetRepo
    controls: ControlRepo
    held_events: HeldEventRepo

    @classmethod
    def on(cls, db: Database, *, secrets: Iterable[str] | KnownSecrets = ()) -> Repos:
        """Every repo on `db`; `secrets` are masked in what the audit stores."""
        return cls(
            inbox=InboxRepo(db),
            outbox=OutboxRepo(db),
            people=PeopleRepo(db),
            languages=LanguageRepo(db),
            sessions=SessionRepo(db),
            tasks=TaskRepo(db),
            triggers=TriggerRepo(db),
            approvals=ApprovalRepo(db),
            grants=GrantRepo(db),
            audit=AuditRepo(db, secrets=secrets),
            usage=UsageRepo(db),
            tainted_files=TaintedFileRepo(db),
            budgets=BudgetRepo(db),
            controls=ControlRepo(db),
            held_events=HeldEventRepo(db),
        )
