"""SessionBuilder: a key's AgentSession made from its role (folder, options, tools, hooks), and
whether a live one is still current (the owner's extensions or MEMORY.md changed since)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from jobs.sessions.agent import AgentSession, SessionObserver
from jobs.sessions.hooks import HookScope, session_hooks
from jobs.sessions.options import (
    ExtensionsSource,
    PromptContext,
    build_options,
    gets_context,
    session_cwd,
)
from jobs.sessions.roles import RoleSpec, task_folder, task_id_of, tool_policy
from jobs.sessions.settings import SessionSettings
from jobs.sessions.taint import TaintRule
from jobs.storage import AuditRepo
from jobs.tools.registry import ToolServers

cli_logger = logging.getLogger("jobs.sessions.cli")


class SessionBuilder:
    """Makes sessions and remembers, per key, the versions its process was made with."""

    def __init__(
        self,
        *,
        config: SessionSettings,
        tools: ToolServers,
        audit: AuditRepo,
        observer: SessionObserver,
        taint_for: Callable[[str], TaintRule],
        extensions: ExtensionsSource | None = None,
        context: PromptContext | None = None,
    ) -> None:
        """`taint_for(key)`: the taint rule of the hooks of `key`'s sessions."""
        self._config = config
        self._tools = tools
        self._audit = audit
        self._observer = observer
        self._taint_for = taint_for
        self._extensions = extensions
        self._context = context
        self._built_with: dict[str, int | None] = {}  # key → extensions version of its process
        self._context_of: dict[str, str | None] = {}  # key → context version of its process

    def current(self, key: str, role: RoleSpec, /) -> bool:
        """True when `key`'s process was made with today's extensions and context."""
        return self._built_with.get(key) == self._extensions_version(role) and (
            self._context_of.get(key) == self._context_version(role)
        )

    def cwd(self, key: str, role: RoleSpec, person_id: int | None, /) -> Path:
        """The folder `key`'s session runs in (a task's own folder, the workspace, a person's)."""
        task_id = task_id_of(key) if role.task_folder else None
        if task_id is not None:
            return task_folder(self._config.workspace_dir, task_id)
        return session_cwd(
            role,
            workspace=self._config.workspace_dir,
            people=self._config.people_dir,
            person_id=person_id,
        )

    async def make(
        self, key: str, role: RoleSpec, person_id: int | None, cwd: Path, resume: str | None
    ) -> AgentSession:
        """`key`'s session, not started yet (the context text is read now)."""
        version = self._context_version(role)  # read before the text: never newer than it
        context = await self._context.for_session() if self._context and version else ""
        self._context_of[key] = version
        return self._build(key, role, person_id, cwd, resume, context)

    def _build(
        self,
        key: str,
        role: RoleSpec,
        person_id: int | None,
        cwd: Path,
        resume: str | None,
        context: str,
    ) -> AgentSession:
        extra = self._extensions if role.extensions else None
        self._built_with[key] = self._extensions_version(role)
        policy = tool_policy(role, self._tools, prefixes=extra.tool_prefixes() if extra else ())
        scope = HookScope(session_key=key, role=role.name, person_id=person_id)
        options = build_options(
            role,
            cwd=cwd,
            resume=resume,
            servers={
                **(extra.mcp_servers() if extra else {}),
                **self._tools.build(role.servers, person_id=person_id),  # Jobs' own win
            },
            plugins=extra.plugins() if extra else (),
            context=context,
            mcp_tools=self._tools.tool_names(role.servers),
            env=self._config.env,
            hooks=session_hooks(
                role, policy, audit=self._audit, scope=scope, taint=self._taint_for(key)
            ),
            stderr=lambda line: cli_logger.debug("[%s] %s", key, line),
        )
        return AgentSession(
            key=key,
            role=role,
            person_id=person_id,
            options=options,
            policy=policy,
            observer=self._observer,
            turn_timeout=self._config.turn_timeout,
            interrupt_grace=self._config.interrupt_grace,
        )

    def _context_version(self, role: RoleSpec) -> str | None:
        if self._context is None or not gets_context(role):
            return None
        return self._context.version()

    def _extensions_version(self, role: RoleSpec) -> int | None:
        source = self._extensions if role.extensions else None
        return source.version if source is not None else None
