"""A SessionManager on a real database, wired as app.build wires it, for tests that drive turns."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.extensions.skill_plugins import SkillPlugins
from jobs.sessions.manager import SessionManager, SessionSettings
from jobs.storage import AuditRepo, Database, SessionRepo, UsageRepo
from jobs.tools.registry import ToolServers


def session_manager(
    db: Database,
    *,
    root: Path,
    env: Mapping[str, str],
    tools: ToolServers,
    workspace: Path | None = None,
    cli_settings: str | None = None,
    **features: Any,
) -> SessionManager:
    """Sessions in `workspace` (root/workspace), people's folders in root/data/people; `features`
    are SessionManager's optional hooks (approver, context, extensions, read_only_tools …).
    The owner's skills reach sessions as Jobs' plugin (as in the app) unless `skills` says."""
    home = workspace or root / "workspace"
    features.setdefault(
        "skills", SkillPlugins(workspace=home, root=root / "data" / "skill-plugins")
    )
    return SessionManager(
        config=SessionSettings(
            workspace_dir=home,
            people_dir=root / "data" / "people",
            env=env,
            cli_settings=cli_settings,
        ),
        sessions=SessionRepo(db),
        usage=UsageRepo(db),
        audit=AuditRepo(db),
        tools=tools,
        **features,
    )
