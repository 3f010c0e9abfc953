"""The one parser of SDK output: messages of a turn → Reply(text, session_id, usage, errors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, cast

from claude_agent_sdk import AssistantMessage, Message, ResultMessage, TextBlock

from jobs.i18n.translator import Translator, english

ErrorKind = Literal[
    "server_error",
    "rate_limit",
    "authentication_failed",
    "billing_error",
    "invalid_request",
    "max_turns",
    "unknown",
]

_KNOWN_KINDS: Final = frozenset(
    {
        "server_error",
        "rate_limit",
        "authentication_failed",
        "billing_error",
        "invalid_request",
        "max_turns",
        "unknown",
    }
)


def apology(kind: ErrorKind, t: Translator | None = None, /) -> str:
    """What the person is told when a turn fails (never the raw API error), in `t`'s words
    (the Reply carries the English one; the conversation says it in the person's language)."""
    t = t or english()
    apologies = {
        "server_error": t.gettext(
            "Sorry, I can't reach my model right now (it is overloaded or down). Please try "
            "again in a few minutes."
        ),
        "rate_limit": t.gettext(
            "Sorry, I'm over my usage limit for the moment. Please try again later."
        ),
        "authentication_failed": t.gettext(
            "Sorry, I can't answer right now: my access to the model is not working. The owner "
            "needs to check the Claude login."
        ),
        "billing_error": t.gettext(
            "Sorry, I can't answer right now: the model account has a billing problem."
        ),
        "invalid_request": t.gettext(
            "Sorry, something in this conversation made the model refuse the request. Try "
            "rephrasing, or /clear to start over."
        ),
        "max_turns": t.gettext(
            "Sorry, that took too many steps and I stopped. Please narrow it down."
        ),
        "unknown": t.gettext("Sorry, something went wrong while answering. Please try again."),
    }
    return apologies[kind]


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens, cost and time of one or more CLI turns."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: int = 0

    @classmethod
    def of(cls, result: ResultMessage, /, *, cost_usd: float) -> Usage:
        """A CLI turn's usage (its `usage` counts that turn's requests). `cost_usd` is that
        turn's cost, which the caller works out: `total_cost_usd` counts the whole session."""
        raw = result.usage or {}
        return cls(
            input_tokens=_int(raw.get("input_tokens")),
            output_tokens=_int(raw.get("output_tokens")),
            cache_read_tokens=_int(raw.get("cache_read_input_tokens")),
            cache_write_tokens=_int(raw.get("cache_creation_input_tokens")),
            cost_usd=cost_usd,
            duration_ms=int(result.duration_ms or 0),
        )

    @property
    def tokens(self) -> int:
        """Every token sent or received, cached ones included."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            duration_ms=self.duration_ms + other.duration_ms,
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one turn (with any follow-ups injected into it).

    `text` is what to send the person: the model's words, or an apology when the turn failed
    (`is_error`, `error_kind`). An interrupted turn (/stop) keeps the partial text. `usage` is
    empty when a plain answer came back before the CLI reported it (run_turn's `early`).
    """

    text: str
    session_id: str | None
    usage: Usage
    is_error: bool = False
    error_kind: ErrorKind | None = None
    interrupted: bool = False
    model: str | None = None
    denied_tools: tuple[str, ...] = ()
    tainted: bool = False
    """The session had read text the owner did not type by the end of this turn."""
    prompt_ids: tuple[str, ...] = ()
    """The uuids of the prompts sent in this turn (the first, then follow-ups), as the
    transcript records them."""


def error_kind(result: ResultMessage, assistant_error: str | None) -> ErrorKind | None:
    """Why a CLI turn failed, or None when it did not (an interrupt is not a failure)."""
    if not result.is_error:
        return None
    if (result.terminal_reason or "").startswith("aborted"):
        return None
    if result.subtype == "error_max_turns":
        return "max_turns"
    if assistant_error in _KNOWN_KINDS:
        return cast("ErrorKind", assistant_error)
    status = result.api_error_status
    if status == 429:
        return "rate_limit"
    if status in (401, 403):
        return "authentication_failed"
    if status is not None and status >= 500:
        return "server_error"
    return "unknown"


@dataclass
class TurnCollector:
    """Gathers the messages of one Jobs turn, which may span several CLI turns (segments).

    A segment ends with a ResultMessage; the caller says whether it belongs to this turn
    (`keep`) or is a stray left over from an earlier one, whose text must not leak in.
    """

    session_id: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    _texts: list[str] = field(default_factory=list)
    _segment: list[str] = field(default_factory=list)
    _segment_error: str | None = None
    _errors: list[ErrorKind] = field(default_factory=list)
    _interrupted: bool = False
    _denied: list[str] = field(default_factory=list)

    def add(self, message: Message, /) -> None:
        """Take in one message that is not a ResultMessage."""
        if not isinstance(message, AssistantMessage) or message.parent_tool_use_id is not None:
            return  # sub-agent chatter is not said to the person
        self.model = message.model or self.model
        if message.error is not None:
            self._segment_error = message.error  # its text is the raw API error: not shown
            return
        for block in message.content:
            if isinstance(block, TextBlock) and block.text.strip():
                self._segment.append(block.text.strip())

    def end_segment(self, result: ResultMessage, /, *, keep: bool, cost_usd: float = 0.0) -> None:
        """Close the current segment with its ResultMessage (`cost_usd`: what it cost)."""
        self.usage = self.usage + Usage.of(result, cost_usd=cost_usd)
        segment, self._segment = self._segment, []
        assistant_error, self._segment_error = self._segment_error, None
        if not keep:
            return
        self.session_id = result.session_id or self.session_id
        self._texts.extend(segment)
        self._denied.extend(_denied_names(result))
        kind = error_kind(result, assistant_error)
        if kind is not None:
            self._errors.append(kind)
        elif result.is_error:
            self._interrupted = True

    def answered(self, session_id: str | None, /) -> Reply:
        """The reply of a plain answer as it stands before its ResultMessage (nothing failed,
        no tool ran): its usage is recorded when the result comes."""
        return Reply(
            text=self.text_so_far(), session_id=session_id, usage=self.usage, model=self.model
        )

    def text_so_far(self) -> str:
        """The text of the segments kept so far and of the open one."""
        return "\n\n".join([*self._texts, *self._segment])

    def reply(self, *, interrupted: bool = False) -> Reply:
        parts = list(self._texts)
        kind = self._errors[-1] if self._errors else None
        if kind is not None:
            parts.append(apology(kind))
        return Reply(
            text="\n\n".join(parts),
            session_id=self.session_id,
            usage=self.usage,
            is_error=kind is not None,
            error_kind=kind,
            interrupted=interrupted or self._interrupted,
            model=self.model,
            denied_tools=tuple(self._denied),
        )


def _denied_names(result: ResultMessage) -> list[str]:
    names: list[str] = []
    for denial in result.permission_denials or ():
        name = denial.get("tool_name") if isinstance(denial, dict) else None
        if isinstance(name, str):
            names.append(name)
    return names


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
