"""GrantBook: the owner's scoped grants — "approve for this task / this session".

The rule, never wider than what the owner saw and approved: a grant covers the same tool with
the same input in the same session key, nothing else. For Bash "the same input" is the exact
command string (its `description` and `timeout` are the model's notes, not what runs); for
every other tool it is the whole input, compared as canonical JSON. So a grant of
`git pull --ff-only` never covers `git pull; curl …`, another file, another recipient or
another session. Its fingerprint (SHA-256 of tool and input) is what is stored and compared.

A grant lives until the owner revokes it (/revoke <id>) or, for a session, clears that session
(/clear). Grants are offered for the owner's session and task sessions; a trigger's throwaway
session would never see the same call again, so none is offered there. Every use is an audit
row ("grant_used"), next to the guard's own row for the call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any, Final

from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.errors import JobsError
from jobs.i18n.translator import Translator, english, gettext_noop
from jobs.richtext import RichText
from jobs.sessions.taint import ApprovalRequest
from jobs.storage import Approval, AuditRepo, Grant, GrantRepo

logger = logging.getLogger(__name__)

GRANT_USED_EVENT: Final = "grant_used"
GRANT_MADE_EVENT: Final = "grant_made"
GRANT_REVOKED_EVENT: Final = "grant_revoked"
_SHOWN_ACTION: Final = 200
"""Characters of a granted action shown in /status (the grant itself holds it whole)."""


def fingerprint(tool: str, tool_input: Mapping[str, Any], /) -> str:
    """What a grant compares: the tool and the exact command (Bash) or the whole input."""
    command = tool_input.get("command")
    if tool == "Bash" and isinstance(command, str):
        what = command
    else:
        what = json.dumps(
            dict(tool_input), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
        )
    return hashlib.sha256(f"{tool}\0{what}".encode()).hexdigest()


def scope_of(session_key: str, t: Translator | None = None, /) -> str | None:
    """How a grant in this session is named to the owner (in `t`'s words); None: no grant is
    offered."""
    t = t or english()
    if session_key.startswith("task:"):
        return t.gettext("task #{id}", id=session_key.removeprefix("task:"))
    if session_key.startswith("trigger:"):
        return None
    return t.gettext("this session (until /clear)")


class GrantBook:
    """Grants as the broker and the owner's commands see them (see the module docstring)."""

    def __init__(self, *, grants: GrantRepo, audit: AuditRepo) -> None:
        self._grants = grants
        self._audit = audit

    async def covering(self, request: ApprovalRequest, /) -> Grant | None:
        """The live grant that lets this exact call run unasked (its use audited), or None.
        A failure to look is no grant: the owner is asked."""
        try:
            grant = await self._grants.matching(
                request.session_key, fingerprint(request.tool, request.tool_input)
            )
            if grant is not None:
                await self._record(GRANT_USED_EVENT, grant, person_id=request.source.person_id)
        except JobsError:
            logger.exception("could not look for a grant for %s", request.tool)
            return None
        return grant

    async def grant(self, request: ApprovalRequest, approval: Approval, /) -> Grant | None:
        """Record the owner's "approve for this task / session" of `approval`."""
        if scope_of(request.session_key) is None:
            return None
        grant = await self._grants.create(
            request.session_key,
            request.tool,
            fingerprint(request.tool, request.tool_input),
            approval.action,
            caused_by=approval.caused_by,
            approval_id=approval.id,
        )
        await self._record(GRANT_MADE_EVENT, grant, person_id=approval.requested_by)
        return grant

    async def clear(self, session_key: str, /) -> int:
        """/clear of a session ends its grants."""
        return await self._grants.revoke_session(session_key)

    async def revoke(self, grant_id: int, t: Translator | None = None, /) -> str:
        t = t or english()
        grant = await self._grants.revoke(grant_id)
        if grant is None:
            return t.gettext("There is no grant #{id} in force; /status lists them.", id=grant_id)
        await self._record(GRANT_REVOKED_EVENT, grant)
        return t.gettext(
            "Revoked grant #{id}: `{tool}` asks you again there.", id=grant_id, tool=grant.tool
        )

    async def describe(self, out: RichText, t: Translator | None = None, /) -> bool:
        """The grants in force, one per line, onto `out` in `t`'s words (actions plain, they
        may be others' words); False when there are none."""
        t = t or english()
        live = await self._grants.live()
        if not live:
            return False
        out.text(t.gettext("Grants in force: {n} (/revoke <id> ends one)", n=len(live)))
        for grant in live:
            action = (
                grant.action
                if len(grant.action) <= _SHOWN_ACTION
                else grant.action[:_SHOWN_ACTION]
                + t.gettext("… ({size} characters)", size=format(len(grant.action), ","))
            )
            scope = scope_of(grant.session_key, t) or grant.session_key
            t.rich(
                out,
                "\n#{id} {scope}: {tool}, exactly {action} — used {uses} times, because of {cause}",
                id=str(grant.id),
                scope=scope,
                tool=grant.tool,
                action=action,
                uses=str(grant.uses),
                cause=grant.caused_by or "?",
            )
        return True

    def add_commands(self, table: CommandTable, /) -> None:
        async def revoke(ctx: CommandContext, command: Command) -> str:
            arg = command.args[0].lstrip("#") if len(command.args) == 1 else ""
            if not (arg.isascii() and arg.isdigit()) or len(arg) > 18:
                return ctx.words.gettext(
                    "Usage: /revoke <grant id>, e.g. /revoke 3 (/status lists the grants)."
                )
            return await self.revoke(int(arg), ctx.words)

        table.add(
            "revoke",
            CommandSpec(
                revoke,
                gettext_noop("end a grant (a call approved for a task or session)"),
                owner_only=True,
                usage=gettext_noop("<grant id>"),
            ),
        )

    async def _record(self, event: str, grant: Grant, *, person_id: int | None = None) -> None:
        try:
            await self._audit.record(
                event,
                session_key=grant.session_key,
                person_id=person_id,
                tool=grant.tool,
                detail={"grant": grant.id, "uses": grant.uses},
                decision="approved_by_grant" if event == GRANT_USED_EVENT else None,
                approval_id=grant.approval_id,
            )
        except JobsError:
            logger.exception("could not audit %s of grant %s", event, grant.id)
