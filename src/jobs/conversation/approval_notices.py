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
from jobs.i18n.translator import Translator
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
    t: Translator,
    *,
    attached: str | None = None,
    scope: str | None = None,
    card: bool = False,
) -> FormattedText:
    """The question in the owner's words `t`: a name or title in it is plain text, the action
    a `pre` built directly and never translated (or, with `attached`, the name of the file
    that holds it). `scope`: where a grant would apply (/grant_<code> is offered); `card`:
    shown with buttons (the companion bot)."""
    code = approval.code
    note = RichText().text(t.gettext("🔐 Approval needed ({code})", code=code), bold=True)
    t.rich(note, "\nBecause of: {cause}", cause=source.caused_by)
    t.rich(note, "\nWhere: {place}", place=source.where)
    t.rich(note, "\nIt wants to run {tool}, exactly this:\n", tool=approval.tool)
    if attached is None:
        note.pre(approval.action or t.gettext("(no input)"))
    else:
        note.text(
            t.gettext(
                "the attached file {file} ({size} characters, nothing cut). Read all of it "
                "before you approve; invisible characters are spelled out as ⟦U+…⟧.",
                file=attached,
                size=format(len(approval.action), ","),
            )
        )
    note.text(_how_to_answer(t, code, scope, card=card))
    note.text(t.gettext(" No answer within {wait} means no.", wait=_duration(wait, t)))
    if approval.session_key == str(OWNER_KEY):
        # Your own conversation asks only because it read that text: say how it stops asking.
        note.text(
            t.gettext(
                "\n\nOnce you no longer need what it read, /clear starts a clean conversation "
                "that does what you ask without these questions."
            )
        )
    return note.build()


def _how_to_answer(t: Translator, code: str, scope: str | None, *, card: bool) -> str:
    if card and scope:
        said = t.gettext(
            "\n\nTap a button, or answer /approve_{code}, /deny_{code} or /grant_{code} in my "
            "chat.",
            code=code,
        )
    elif card:
        said = t.gettext(
            "\n\nTap a button, or answer /approve_{code}, /deny_{code} in my chat.", code=code
        )
    else:
        said = t.gettext(
            "\n\n/approve_{code} lets it run once, /deny_{code} refuses it (or reply yes or no "
            "to this message).",
            code=code,
        )
    if scope:
        said += t.gettext(
            " /grant_{code} lets exactly this run now and again in {scope}, unasked.",
            code=code,
            scope=scope,
        )
    return said


def question_message(
    owner_chat: int,
    approval: Approval,
    source: TaintSource,
    wait: timedelta,
    t: Translator,
    *,
    files: Path,
    scope: str | None = None,
) -> OutboundMessage:
    """The question as one message, or with the action in a file when it would not fit."""
    body = question(approval, source, wait, t, scope=scope)
    if utf16_len(body.text) <= MESSAGE_LIMIT:
        return OutboundMessage.formatted(owner_chat, body)
    path = write_action(files, approval)
    body = question(approval, source, wait, t, attached=path.name, scope=scope)
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


def expired(approval: Approval, t: Translator) -> FormattedText:
    note = t.rich(
        RichText(),
        "⌛ No answer to approval {code} in time: {tool} did not run.",
        code=approval.code,
        tool=approval.tool,
    )
    return note.build()


def _ending(state: ApprovalState, t: Translator) -> str:
    endings = {
        ApprovalState.APPROVED: t.gettext("✅ Approved."),
        ApprovalState.DENIED: t.gettext("🚫 Denied."),
        ApprovalState.EXPIRED: t.gettext("⌛ No answer in time: it did not run."),
        ApprovalState.PENDING: t.gettext("⌛ Ended: it did not run."),
    }
    return endings[state]


def settled(approval: Approval, state: ApprovalState, t: Translator, /) -> FormattedText:
    """A card once answered: what it asked, and how it ended (no more buttons)."""
    note = RichText().text(t.gettext("🔐 Approval {code}: ", code=approval.code), bold=True)
    note.plain(approval.tool).text("\n" + _ending(state, t))
    return note.build()


def refused_unasked(request: ApprovalRequest, size: int, t: Translator) -> FormattedText:
    """The owner's notice of a call denied without asking (its action past MAX_ACTION_CHARS)."""
    source = request.source
    note = RichText().text(t.gettext("🔐 Denied without asking"), bold=True)
    t.rich(note, "\nBecause of: {cause}", cause=source.caused_by)
    t.rich(note, "\nWhere: {place}", place=source.where)
    t.rich(note, "\nIt wanted to run {tool}", tool=request.tool)
    note.text(
        t.gettext(
            " with {size} characters of input: more than the {limit} anyone can check before "
            "saying yes, so it did not run.",
            size=format(size, ","),
            limit=format(MAX_ACTION_CHARS, ","),
        )
    )
    return note.build()


def _duration(span: timedelta, t: Translator) -> str:
    seconds = span.total_seconds()
    if seconds >= 90:
        return t.gettext("{minutes} min", minutes=round(seconds / 60))
    return t.gettext("{seconds} s", seconds=round(seconds))
