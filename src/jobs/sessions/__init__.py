"""Claude sessions: roles as data, SDK options, live sessions and the manager that caps them."""

from jobs.sessions.agent import AgentSession, SessionObserver
from jobs.sessions.manager import SessionManager
from jobs.sessions.replies import Reply, Usage
from jobs.sessions.roles import EXTERNAL, OWNER, TASK, RoleSpec, ToolPolicy, allowed_tool_names
from jobs.sessions.settings import SessionSettings

__all__ = [
    "EXTERNAL",
    "OWNER",
    "TASK",
    "AgentSession",
    "Reply",
    "RoleSpec",
    "SessionManager",
    "SessionObserver",
    "SessionSettings",
    "ToolPolicy",
    "Usage",
    "allowed_tool_names",
]
