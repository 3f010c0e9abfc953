"""The commands every Jobs understands: /stop, /clear, /allow, /block, /approve, /deny, /grant
(and /help from the table)."""

from __future__ import annotations

from jobs.conversation.approvals import ApprovalBroker
from jobs.conversation.commands import Command, CommandContext, CommandSpec, CommandTable
from jobs.conversation.grants import GrantBook
from jobs.conversation.untrusted import plain_name
from jobs.i18n.translator import gettext_noop
from jobs.sessions.port import Sessions
from jobs.storage.people import Access, PeopleRepo

MAX_ID_DIGITS = 18
"""Longer digit strings are not Telegram ids (and would overflow SQLite's 64-bit INTEGER)."""


def builtin_commands(
    *,
    sessions: Sessions,
    people: PeopleRepo,
    approvals: ApprovalBroker | None = None,
    grants: GrantBook | None = None,
) -> CommandTable:
    """`approvals`: with it, /approve_<code> and /deny_<code> answer its questions (and
    /grant_<code>, with `grants`, which /clear of a session also ends)."""

    async def stop(ctx: CommandContext, command: Command) -> str:
        if await sessions.interrupt(ctx.session_key):
            return ctx.words.gettext("Stopping what I was doing.")
        return ctx.words.gettext("Nothing is running right now.")

    async def clear(ctx: CommandContext, command: Command) -> str:
        await sessions.reset(ctx.session_key)
        ended = await grants.clear(str(ctx.session_key)) if grants is not None else 0
        t = ctx.words
        also = (
            t.ngettext(
                " The {n} grant of this session ended.",
                " The {n} grants of this session ended.",
                ended,
            )
            if ended
            else ""
        )
        return t.gettext("Done: our next message starts a fresh conversation.") + also

    async def allow(ctx: CommandContext, command: Command) -> str:
        return await _set_access(people, ctx, command, Access.ALLOWED)

    async def block(ctx: CommandContext, command: Command) -> str:
        return await _set_access(people, ctx, command, Access.BLOCKED)

    who = gettext_noop("<user id or @username>")
    table = CommandTable()
    table.add(
        "stop",
        CommandSpec(
            stop, gettext_noop("stop what the assistant is doing"), owner_only=True, immediate=True
        ),
    )
    table.add(
        "clear", CommandSpec(clear, gettext_noop("forget this conversation and start afresh"))
    )
    table.add(
        "allow",
        CommandSpec(
            allow, gettext_noop("let a person talk to the assistant"), owner_only=True, usage=who
        ),
    )
    table.add(
        "block",
        CommandSpec(block, gettext_noop("ignore a person for good"), owner_only=True, usage=who),
    )
    if approvals is not None:
        _add_approvals(table, approvals, grants=grants is not None)
    return table


def _add_approvals(table: CommandTable, broker: ApprovalBroker, *, grants: bool) -> None:
    async def approve(ctx: CommandContext, command: Command) -> str:
        return await _decide(broker, ctx, command, approve=True)

    async def deny(ctx: CommandContext, command: Command) -> str:
        return await _decide(broker, ctx, command, approve=False)

    async def grant(ctx: CommandContext, command: Command) -> str:
        return await _decide(broker, ctx, command, approve=True, scoped=True)

    answers = [
        ("approve", approve, gettext_noop("let an action the assistant asked you about")),
        ("deny", deny, gettext_noop("refuse an action the assistant asked you about")),
    ]
    if grants:
        what = gettext_noop(
            "let again and again (in its task or session) an action the assistant asked you about"
        )
        answers.append(("grant", grant, what))
    # Immediate: the turn that asked may hold the very session the owner is waiting on.
    for name, handler, summary in answers:
        table.add(
            name,
            CommandSpec(
                handler, summary, owner_only=True, usage=gettext_noop("<code>"), immediate=True
            ),
        )


async def _decide(
    broker: ApprovalBroker,
    ctx: CommandContext,
    command: Command,
    *,
    approve: bool,
    scoped: bool = False,
) -> str:
    if len(command.args) != 1:
        return ctx.words.gettext(
            "Usage: /{name}_<code>, with the code from my question.", name=command.name
        )
    return await broker.decide(command.args[0], approve=approve, scoped=scoped)


async def _set_access(
    people: PeopleRepo, ctx: CommandContext, command: Command, access: Access
) -> str:
    t = ctx.words
    if len(command.args) != 1:
        return t.gettext(
            "Usage: /{name} <user id or @username>, e.g. /{name} 123456789", name=command.name
        )
    target = command.args[0]
    # A Telegram id: ASCII digits that fit SQLite's INTEGER ("²" is a digit too, not an id).
    numeric = target.isascii() and target.isdigit() and len(target) <= MAX_ID_DIGITS
    person = await people.find_by_username(target) if not numeric else None
    user_id = person.user_id if person else (int(target) if numeric else None)
    if user_id is None or (updated := await people.set_access(user_id, access)) is None:
        return t.gettext(
            "I don't know anyone called {who} yet: they have to write to you first.",
            who=plain_name(target),
        )
    username = plain_name(updated.username)
    who = plain_name(updated.display_name) or (f"@{username}" if username else str(user_id))
    if access is Access.ALLOWED:
        return t.gettext("I'll answer {who} from now on.", who=who)
    return t.gettext("I'll ignore {who} from now on.", who=who)
