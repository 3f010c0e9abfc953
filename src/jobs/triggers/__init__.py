"""Triggers: what makes Jobs act unasked (schedules, the heartbeat, watched channels).

Every source turns what happened into a TriggerEvent; the TriggerExecutor runs it as a turn
of the owner's (or a task's) session and queues the reply for the owner. APScheduler is
imported in scheduler.py only.
"""

from jobs.triggers.channels import ChannelWatch
from jobs.triggers.events import TriggerEvent, TriggerOutcome, TriggerSource
from jobs.triggers.executor import NOTHING, TriggerExecutor
from jobs.triggers.heartbeat import Heartbeat, QuietHours
from jobs.triggers.manager import TriggerManager
from jobs.triggers.scheduler import Scheduler

__all__ = [
    "NOTHING",
    "ChannelWatch",
    "Heartbeat",
    "QuietHours",
    "Scheduler",
    "TriggerEvent",
    "TriggerExecutor",
    "TriggerManager",
    "TriggerOutcome",
    "TriggerSource",
]
