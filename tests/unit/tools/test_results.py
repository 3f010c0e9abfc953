from __future__ import annotations

from jobs.tools import error_result, text_result


def test_text_result_shape() -> None:
    assert text_result("hi") == {"content": [{"type": "text", "text": "hi"}]}


def test_error_result_is_flagged() -> None:
    assert error_result("no") == {"content": [{"type": "text", "text": "no"}], "is_error": True}
