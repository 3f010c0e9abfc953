"""Finds the fixed texts people would read that bypass the translation layer.

A string literal counts as prose when it has a word followed by more words, or ends like a
sentence. In a module that produces messages, prose must be the literal first argument of
`gettext`/`ngettext`/`pgettext` (which the extractor reads), a docstring, part of a log call or
of a raised exception, or on a statement marked `# i18n: skip` (text for the model, not for
people). A translator call whose message is not a literal is reported too: the extractor
cannot see it, so it could never be translated.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_WORDS = re.compile(r"[^\W\d_]{2,}[^\S\n]+\S|\S[^\S\n]+[^\W\d_]{2,}")
_WORD = re.compile(r"[^\W\d_]{2,}")
_SENTENCE_END = re.compile(r"[.!?:…]\s*$")
_FIELDS = re.compile(r"\{[^{}]*\}")
_TRANSLATORS = frozenset({"gettext", "ngettext", "pgettext", "gettext_noop", "rich"})
_LOGGERS = frozenset({"logger", "log", "logging", "_log", "_logger"})
SKIP = "# i18n: skip"


@dataclass(frozen=True, slots=True)
class Finding:
    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def is_prose(text: str, /) -> bool:
    bare = _FIELDS.sub(" ", text)
    if not _WORD.search(bare):
        return False
    if _WORDS.search(bare):
        return True
    # "Done." is a message; "schedule:" (a key's prefix) is not.
    return bool(_SENTENCE_END.search(bare)) and bare.lstrip()[:1].isupper()


def findings(path: Path, /) -> Iterator[Finding]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    exempt = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in _TRANSLATORS:
            at = 1 if _call_name(node) in ("pgettext", "rich") else 0
            message = node.args[at] if len(node.args) > at else None
            if not (isinstance(message, ast.Constant) and isinstance(message.value, str)):
                yield Finding(path, node.lineno, f"{_call_name(node)}() of a non-literal")
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in exempt or not is_prose(node.value):
            continue
        if not _allowed(node, parents, lines):
            yield Finding(path, node.lineno, node.value)


def _allowed(node: ast.AST, parents: dict[int, ast.AST], lines: list[str]) -> bool:
    current: ast.AST | None = node
    statement_seen = False
    while current is not None:
        if isinstance(current, ast.Raise):
            return True
        if isinstance(current, ast.Call) and _call_name(current) in _TRANSLATORS:
            return True
        if isinstance(current, ast.Call) and _is_log_call(current):
            return True
        if isinstance(current, ast.stmt) and not statement_seen:
            statement_seen = True  # the mark covers the statement the text is in, no more
            end = current.end_lineno or current.lineno
            if any(SKIP in line for line in lines[current.lineno - 1 : end]):
                return True
        current = parents.get(id(current))
    return False


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else None


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in _LOGGERS
    )


def _docstrings(tree: ast.Module) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
        else:
            continue
        for i, statement in enumerate(body):
            # A docstring, and the attribute docstrings under a class's fields.
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
                and (i == 0 or isinstance(body[i - 1], ast.AnnAssign | ast.Assign))
            ):
                found.add(id(statement.value))
    return found


def literal_messages(path: Path, /) -> Iterator[str]:
    """The literal messages of translator calls in `path`, as the AST sees them (what the
    extractor must find too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and _call_name(node) in _TRANSLATORS:
            at = 1 if _call_name(node) in ("pgettext", "rich") else 0
            message = node.args[at] if len(node.args) > at else None
            if isinstance(message, ast.Constant) and isinstance(message.value, str):
                yield message.value
