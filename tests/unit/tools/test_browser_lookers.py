"""A tainted owner session may look at the page without asking (a snapshot, a screenshot, the
console); whatever could make the page send a request asks the owner."""

from __future__ import annotations

from jobs.extensions.playwright import pinned_tools
from jobs.features import READ_ONLY_TOOLS
from jobs.sessions.taint import TaintRule
from jobs.tools.browser import LOOKERS

SENDERS = (
    "browser_navigate",
    "browser_navigate_back",
    "browser_click",
    "browser_type",
    "browser_fill_form",
    "browser_hover",
    "browser_press_key",
    "browser_select_option",
    "browser_drag",
    "browser_evaluate",
    "browser_run_code_unsafe",
    "browser_tabs",
    "browser_file_upload",
    "browser_drop",
    "browser_handle_dialog",
    "browser_emulate_media",
)


def test_every_pinned_tool_is_either_a_looker_or_asks() -> None:
    names = {tool.name for tool in pinned_tools()}
    assert set(LOOKERS) | set(SENDERS) == names
    assert not set(LOOKERS) & set(SENDERS)


def test_a_tainted_session_looks_freely_and_asks_before_the_page_can_send() -> None:
    rule = TaintRule(is_tainted=lambda: True, read_only=frozenset(READ_ONLY_TOOLS))
    assert not any(rule.refuses(f"mcp__browser__{name}") for name in LOOKERS)
    assert all(rule.refuses(f"mcp__browser__{name}") for name in SENDERS)
