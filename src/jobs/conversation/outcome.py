"""A finished turn's outcome: a reply and the row's final state, or an outage (`judge`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from jobs.errors import CliCrashed, RoleViolation, SessionError, TurnRefused, TurnTimeout
from jobs.i18n.translator import Translator, english
from jobs.sessions.replies import Reply, apology
from jobs.storage.inbox import InboxItem, InboxState

logger = logging.getLogger(__name__)

OutageKind = Literal[
    "server_error",
    "rate_limit",
    "authentication_failed",
    "billing_error",
    "cli_failed",
    "cli_crashed",
]
"""Why the model cannot be reached: a Reply's error kind, Claude Code failing (SessionError),
or Claude Code stopping mid-turn (CliCrashed: maybe this message's doing, so it is counted)."""
_REPLY_OUTAGES: Final = frozenset(
    {"server_error", "rate_limit", "authentication_failed", "billing_error"}
)
_API_ANSWERED: Final = frozenset({"invalid_request", "max_turns"})  # failed, but the model answered


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a finished turn means: a reply and the row's final state, or an outage."""

    text: str
    state: InboxState
    outage: OutageKind | None = None
    """Set when the model could not be reached: the rows wait (`state` stays pending)."""
    reached_model: bool = False
    """The model answered (whatever it said): an outage, if any, is over."""
    followed: tuple[InboxItem, ...] = field(default=())
    """Follow-ups injected into the turn: they share its reply, or its wait."""
    tainted: bool = True
    """The session had read text the owner did not type (Reply.tainted): its reply gets no
    link preview, which would have Telegram's servers fetch a URL it chose."""
    refused: TurnRefused | None = None
    """/pause stopped the turn, or a budget refused it: the rows are held or refused."""


def judge(
    turn: asyncio.Task[Reply], followed: Sequence[InboxItem] = (), t: Translator | None = None
) -> Outcome:
    """The outcome of a finished turn task; what Jobs itself says is in `t`'s words."""
    t = t or english()
    rest = tuple(followed)
    try:
        reply = turn.result()
    except TurnTimeout as exc:
        return Outcome(
            t.gettext(
                "That took longer than {seconds} s, so I stopped it. Please try again, perhaps "
                "asking for a smaller piece at once.",
                seconds=round(exc.seconds),
            ),
            InboxState.FAILED,
            followed=rest,
        )
    except TurnRefused as exc:
        return Outcome("", InboxState.PENDING, followed=rest, refused=exc)
    except RoleViolation:
        logger.exception("Session refused: role violation")
        text = t.gettext(
            "Sorry, I can't answer right now: my setup offered this conversation tools it must "
            "not have, so I refused to start it."
        )
        return Outcome(text, InboxState.FAILED, followed=rest)
    except SessionError as exc:
        logger.warning("Claude Code cannot take the turn: %s", exc)
        kind: OutageKind = "cli_crashed" if isinstance(exc, CliCrashed) else "cli_failed"
        return Outcome("", InboxState.PENDING, outage=kind, followed=rest)
    if reply.error_kind in _REPLY_OUTAGES:
        return Outcome(
            "", InboxState.PENDING, outage=cast("OutageKind", reply.error_kind), followed=rest
        )
    # A reply made without the model (a file too large, say) has no session: it says nothing.
    reached = reply.session_id is not None and not reply.interrupted
    reached = reached and (not reply.is_error or reply.error_kind in _API_ANSWERED)
    if reply.is_error:  # the reply's text ends with an apology fitting the error
        text = reply.text
        if reply.error_kind is not None and text.endswith(apology(reply.error_kind)):
            text = text.removesuffix(apology(reply.error_kind)) + apology(reply.error_kind, t)
        return Outcome(text, InboxState.FAILED, reached_model=reached, followed=rest)
    if reply.interrupted:
        text = (reply.text + t.gettext("\n\n(stopped)")) if reply.text else t.gettext("Stopped.")
        return Outcome(text, InboxState.ANSWERED, followed=rest)
    return Outcome(
        reply.text,
        InboxState.ANSWERED,
        reached_model=reached,
        followed=rest,
        tainted=reply.tainted or reply.session_id is None,
    )
