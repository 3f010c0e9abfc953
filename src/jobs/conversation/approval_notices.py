"""What the owner reads about an approval, built with jobs.richtext (never through Markdown):
the question (the cause first, then where, then the exact action as a preformatted entity or,
when too long for one message, an attached file), the expiry, and the refusal of an action
too long for anyone to check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Final

from jobs.atomic import atomic_write
from jobs.errors import StorageError
from jobs.messages import MESSAGE_LIMIT, OutboundMessage
from jobs.richtext import FormattedText, RichText, utf16_len, visible
from jobs.sessions.keys import OWNER_KEY
from jobs.sessions.taint import ApprovalRequest, TaintSource
from jobs.storage import Approval, ApprovalState

MAX_ACTION_CHARS: Final = 100_000
"""Past this an action is denied without asking: nobody reads that much before saying yes, and
padding is how a dangerous tail would hide. Up to it the action is shown whole, never cut."""
_FILE_MODE: Final = 0o600


def question(
    approval: Approval,
    source: TaintSource,
    wait: timedelta,
    *,
    attached: str | None = None,
    scope: str | None = None,
    card: bool = False,
) -> FormattedText:
    """The question: a name or title in it is plain text, the action a `pre` built directly
    (or, with `attached`, the name of the file that holds it). `scope`: where a grant would
    apply (/grant_<code> is offered); `card`: shown with buttons (the companion bot)."""
    code = approval.code
    rich = RichText().text(f"🔐 Approval needed ({code})", bold=True)
    rich.text("\nBecause of: ").plain(source.caused_by)
    rich.text("\nWhere: ").plain(source.where)
    rich.text("\nIt wants to run ").plain(approval.tool).text(", exactly this:\n")
    if attached is None:
        rich.pre(approval.action or "(no input)")
    else:
        size = f"{len(approval.action):,}"
        rich.text(f"the attached file {attached} ({size} characters, nothing cut). Read all ")
        rich.text("of it before you approve; invisible characters are spelled out as ⟦U+…⟧.")
    if card:
        rich.text(f"\n\nTap a button, or answer /approve_{code}, /deny_{code}")
        rich.text(f" or /grant_{code}" if scope else "").text(" in my chat.")
    else:
        rich.text(
            f"\n\n/approve_{code} lets it run once, /deny_{code} refuses it (or reply yes or "
            "no to this message)."
        )
    if scope:
        rich.text(f" /grant_{code} lets exactly this run now and again in {scope}, unasked.")
    rich.text(f" No answer within {_duration(wait)} means no.")
    if approval.session_key == str(OWNER_KEY):
        # Your own conversation asks only because it read that text: say how it stops asking.
        rich.text("\n\nOnce you no longer need what it read, /clear starts a clean conversation")
        rich.text(" that does what you ask without these questions.")
    return rich.build()


def question_message(
    owner_chat: int,
    approval: Approval,
    source: TaintSource,
    wait: timedelta,
    *,
    files: Path,
    scope: str | None = None,
) -> OutboundMessage:
    """The question as one message, or with the action in a file when it would not fit."""
    body = question(approval, source, wait, scope=scope)
    if utf16_len(body.text) <= MESSAGE_LIMIT:
        return OutboundMessage.formatted(owner_chat, body)
    path = write_action(files, approval)
    body = question(approval, source, wait, attached=path.name, scope=scope)
    return OutboundMessage(
        chat_id=owner_chat,
        text=body.text,
        entities=body.entities,
        kind="document",
        file_path=str(path),
    )


def write_action(files: Path, approval: Approval) -> Path:
    """`files`/approval-<code>.txt (the code is [a-z2-9]: a safe name), readable by Jobs'
    user only, with the action as the question would show it."""
    path = files / f"approval-{approval.code}.txt"
    try:
        atomic_write(path, visible(approval.action) + "\n", mode=_FILE_MODE)
    except OSError as exc:  # a full disk is DiskFull already
        raise StorageError(f"Cannot write {path} to show a long action: {exc}") from exc
    return path


def expired(approval: Approval) -> FormattedText:
    rich = RichText().text(f"⌛ No answer to approval {approval.code} in time: ")
    return rich.plain(approval.tool).text(" did not run.").build()


_ENDINGS: Final = {
    ApprovalState.APPROVED: "✅ Approved",
    ApprovalState.DENIED: "🚫 Denied",
    ApprovalState.EXPIRED: "⌛ No answer in time: it did not run",
    ApprovalState.PENDING: "⌛ Ended: it did not run",
}


def settled(approval: Approval, state: ApprovalState, /) -> FormattedText:
    """A card once answered: what it asked, and how it ended (no more buttons)."""
    rich = RichText().text(f"🔐 Approval {approval.code}: ", bold=True)
    rich.plain(approval.tool).text(f"\n{_ENDINGS[state]}.")
    return rich.build()


def refused_unasked(request: ApprovalRequest, size: int) -> FormattedText:
    """The owner's notice of a call denied without asking (its action past MAX_ACTION_CHARS)."""
    source = request.source
    rich = RichText().text("🔐 Denied without asking", bold=True)
    rich.text("\nBecause of: ").plain(source.caused_by)
    rich.text("\nWhere: ").plain(source.where)
    rich.text("\nIt wanted to run ").plain(request.tool)
    rich.text(
        f" with {size:,} characters of input: more than the {MAX_ACTION_CHARS:,} anyone can "
        "check before saying yes, so it did not run."
    )
    return rich.build()


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
