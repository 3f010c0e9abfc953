"""The SQLite storage of Jobs: one Database (WAL, migrations) and a repository per table group.

Everything above this package talks to the database through these repositories and gets
frozen dataclasses back; aiosqlite is imported nowhere else.
"""

from jobs.storage.approvals import Approval, ApprovalRepo, ApprovalState
from jobs.storage.audit import AuditEntry, AuditRepo, redact
from jobs.storage.budgets import BudgetRepo, StoredLimit
from jobs.storage.controls import ControlRepo, StoredModel
from jobs.storage.database import Database, ExecResult, from_iso, to_iso
from jobs.storage.grants import Grant, GrantRepo
from jobs.storage.held_events import HeldEvent, HeldEventRepo
from jobs.storage.inbox import InboxItem, InboxRepo, InboxState
from jobs.storage.outbox import OutboxItem, OutboxRepo, OutboxState
from jobs.storage.people import Access, PeopleRepo, Person
from jobs.storage.schema import Migration, load_migrations
from jobs.storage.sessions import SessionRecord, SessionRepo
from jobs.storage.tainted_files import TaintedFile, TaintedFileRepo
from jobs.storage.tasks import ACTIVE_STATUSES, ANY, Task, TaskRepo, TaskStatus
from jobs.storage.trigger_rows import (
    JobRun,
    Misfire,
    RunState,
    Schedule,
    ScheduleKind,
    Subscription,
)
from jobs.storage.triggers import TriggerRepo
from jobs.storage.usage import Spent, UsageLine, UsageRepo, UsageTotals

__all__ = [
    "ACTIVE_STATUSES",
    "ANY",
    "Access",
    "Approval",
    "ApprovalRepo",
    "ApprovalState",
    "AuditEntry",
    "AuditRepo",
    "BudgetRepo",
    "ControlRepo",
    "Database",
    "ExecResult",
    "Grant",
    "GrantRepo",
    "HeldEvent",
    "HeldEventRepo",
    "InboxItem",
    "InboxRepo",
    "InboxState",
    "JobRun",
    "Migration",
    "Misfire",
    "OutboxItem",
    "OutboxRepo",
    "OutboxState",
    "PeopleRepo",
    "Person",
    "RunState",
    "Schedule",
    "ScheduleKind",
    "SessionRecord",
    "SessionRepo",
    "Spent",
    "StoredLimit",
    "StoredModel",
    "Subscription",
    "TaintedFile",
    "TaintedFileRepo",
    "Task",
    "TaskRepo",
    "TaskStatus",
    "TriggerRepo",
    "UsageLine",
    "UsageRepo",
    "UsageTotals",
    "from_iso",
    "load_migrations",
    "redact",
    "to_iso",
]
