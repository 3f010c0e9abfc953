"""Delegated tasks at work: each task's own session, its turns, and the heartbeat's resume."""

from jobs.delegation.runner import TaskSessions, TaskSessionSettings

__all__ = ["TaskSessionSettings", "TaskSessions"]
