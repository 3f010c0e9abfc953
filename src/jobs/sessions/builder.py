"""SessionBuilder: a key's AgentSession made from its role (folder, options, tools, hooks), and
whether a live one is still current (the owner's extensions or MEMORY.md changed since)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from claude_agent_sdk import SdkPluginConfig

from jobs.sessions.agent import AgentSession, ClientFactory, SessionObserver
from jobs.sessions.hooks import HookScope, session_hooks
from jobs.sessions.keys import SessionKey
from jobs.sessions.options import (
    ExtensionsSource,
    PromptContext,
    SkillSource,
    build_options,
    session_cwd,
    stop_hooks,
)
from jobs.sessions.roles import RoleSpec, task_folder, tool_policy
from jobs.sessions.settings import SessionSettings
from jobs.sessions.taint import OUTSIDE_TEXT, TaintRule, TaintSource
from jobs.storage import AuditRepo
from jobs.tools.registry import ToolScope, ToolServers

cli_logger = logging.getLogger("jobs.sessions.cli")


class SessionBuilder:
    """Makes sessions and remembers, per key, the versions its process was made with."""

    def __init__(  # noqa: PLR0913 - keyword-only, one per collaborator
        self,
        *,
        config: SessionSettings,
        tools: ToolServers,
        audit: AuditRepo,
        observer: SessionObserver,
        taint_for: Callable[[SessionKey], TaintRule],
        extensions: ExtensionsSource | None = None,
        context: PromptContext | None = None,
        skills: SkillSource | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        """`taint_for(key)`: the taint rule of the hooks of `key`'s sessions."""
        self._config = config
        self._tools = tools
        self._audit = audit
        self._observer = observer
        self._taint_for = taint_for
        self._extensions = extensions
        self._context = context
        self._skills = skills
        self._client_factory = client_factory
        self._confinements: dict[SessionKey, TaintSource] = {}  # key → its role's tainted rules
        self._scratch: dict[SessionKey, Path] = {}  # key → its throwaway folder
        self._built_with: dict[
            SessionKey, int | None
        ] = {}  # key → extensions version of its process
        self._context_of: dict[SessionKey, str | None] = {}  # key → context version of its process

    def current(self, key: SessionKey, role: RoleSpec, /) -> bool:
        """True when `key`'s process was made with today's extensions and context."""
        return self._built_with.get(key) == self._extensions_version(role) and (
            self._context_of.get(key) == self._context_version(role)
        )

    def cwd(self, key: SessionKey, role: RoleSpec, person_id: int | None, /) -> Path:
        """The folder `key`'s session runs in: a task's own folder, an empty throwaway one,
        the workspace, or a person's."""
        if role.cwd == "task" and key.task_id is not None:
            return task_folder(self._config.workspace_dir, key.task_id)
        if role.cwd == "scratch":
            token = key.ident.replace("/", "_") or "scratch"
            scratch = self._config.scratch_dir or self._config.people_dir.parent / "scratch"
            return (scratch / token).resolve()
        return session_cwd(
            role,
            workspace=self._config.workspace_dir,
            people=self._config.people_dir,
            person_id=person_id,
        )

    def confinement(self, key: SessionKey, /) -> TaintSource:
        """What `key`'s session may do alone once tainted, by its role (the cause is filled
        in by the manager)."""
        return self._confinements.get(key, OUTSIDE_TEXT)

    async def make(
        self,
        key: SessionKey,
        role: RoleSpec,
        person_id: int | None,
        cwd: Path,
        resume: str | None,
        resume_at: str | None = None,
    ) -> AgentSession:
        """`key`'s session, not started yet (the context text is read now). `resume_at`: cut
        the resumed transcript after that entry (jobs.sessions.rewind)."""
        version = self._context_version(role)  # read before the text: never newer than it
        context = await self._context.for_session() if self._context and version else ""
        self._context_of[key] = version
        return self._build(key, role, person_id, cwd, resume, context, resume_at)

    def _build(
        self,
        key: SessionKey,
        role: RoleSpec,
        person_id: int | None,
        cwd: Path,
        resume: str | None,
        context: str,
        resume_at: str | None = None,
    ) -> AgentSession:
        extra = self._extensions if role.extensions else None
        self._built_with[key] = self._extensions_version(role)
        self._confinements[key] = _confinement(role, cwd)
        if role.cwd == "scratch":
            self._scratch[key] = cwd
        policy = tool_policy(role, self._tools, prefixes=extra.tool_prefixes() if extra else ())
        scope = HookScope(session_key=str(key), role=role.name, person_id=person_id)
        options = build_options(
            role,
            cwd=cwd,
            resume=resume,
            servers={
                **(extra.mcp_servers() if extra else {}),
                **self._tools.build(role.servers, scope=ToolScope(person_id, key.task_id)),
            },
            plugins=[*(extra.plugins() if extra else ()), *self._skill_plugins(role)],
            context=context,
            mcp_tools=self._tools.tool_names(role.servers),
            env=self._config.env,
            hooks=session_hooks(
                role, policy, audit=self._audit, scope=scope, taint=self._taint_for(key)
            ),
            stderr=lambda line: cli_logger.debug("[%s] %s", key, line),
            settings=self._config.cli_settings,
            resume_at=resume_at,
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
            settle_early=not stop_hooks(options),
            **({"client_factory": self._client_factory} if self._client_factory else {}),
        )

    def closed(self, key: SessionKey, /) -> None:
        """`key`'s process closed: what was kept about it goes (made again at its next start)."""
        for kept in (self._confinements, self._built_with, self._context_of):
            kept.pop(key, None)

    def forget(self, key: SessionKey, /) -> Path | None:
        """`key` is gone for good (a throwaway session): drop what was kept for it, and
        return its throwaway folder (for the caller to remove), if it had one."""
        self.closed(key)
        return self._scratch.pop(key, None)

    def transcripts(self, cwd: Path, /) -> Path | None:
        """Where Claude Code keeps the transcripts of sessions run in `cwd` (its config dir's
        projects/, the path with every other character than letters and digits as "-")."""
        config = self._config.env.get("CLAUDE_CONFIG_DIR")
        if not config:
            return None
        return Path(config) / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(cwd))

    def _skill_plugins(self, role: RoleSpec) -> list[SdkPluginConfig]:
        if self._skills is None or role.skills == ():
            return []
        plugin = self._skills.plugin(role.skills)
        return [] if plugin is None else [plugin]

    def _context_version(self, role: RoleSpec) -> str | None:
        if self._context is None or not role.context:
            return None
        return self._context.version()

    def _extensions_version(self, role: RoleSpec) -> int | None:
        source = self._extensions if role.extensions else None
        return source.version if source is not None else None


def _confinement(role: RoleSpec, cwd: Path) -> TaintSource:
    """A tainted session's own rules from its role: its folder (tasks: reads confined too),
    its cwd for local writes (the owner's workspace), and its free calls."""
    folder = cwd if role.tainted_writes == "folder" else None
    root = cwd if role.tainted_writes == "cwd" else None
    return TaintSource(
        caused_by=OUTSIDE_TEXT.caused_by,
        where="your main session" if role.cwd == "workspace" else f"the {role.name} session",
        folder=folder,
        write_root=root,
        free_calls=role.tainted_free,
    )
