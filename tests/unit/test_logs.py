"""Secrets never reach the log output."""

import logging

import pytest

from jobs.logs import RedactingFilter, configure_logging


def test_known_and_shaped_secrets_masked() -> None:
    f = RedactingFilter(["my-api-hash-value"])
    text = f.redact(
        "hash my-api-hash-value key sk-ant-abcdefghijklmnopqrstu Bearer abcdefghijklmnopqrs"
    )
    assert "my-api-hash-value" not in text and "sk-ant-abcdef" not in text
    assert "abcdefghijklmnopqrs" not in text and text.count("***") == 3


def test_log_records_are_redacted(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["topsecretvalue"])
    try:
        try:
            raise RuntimeError("failed with topsecretvalue")
        except RuntimeError:
            logging.getLogger("jobs.test").exception("calling with %s", "topsecretvalue")
        err = capfd.readouterr().err
        assert "topsecretvalue" not in err and "calling with ***" in err
        assert "RuntimeError: failed with ***" in err
    finally:
        logging.getLogger().handlers.clear()


def test_json_lines_keep_redaction(capfd: pytest.CaptureFixture[str]) -> None:
    import json

    configure_logging("INFO", ["topsecretvalue"], json_lines=True)
    try:
        try:
            raise RuntimeError("boom topsecretvalue")
        except RuntimeError:
            logging.getLogger("jobs.test").exception("key %s", "topsecretvalue")
        [line] = capfd.readouterr().err.splitlines()[-1:]
        record = json.loads(line)
        assert record["level"] == "ERROR" and record["logger"] == "jobs.test"
        assert record["message"] == "key ***" and record["ts"].endswith("+00:00")
        assert "RuntimeError: boom ***" in record["exc"] and "topsecretvalue" not in line
    finally:
        logging.getLogger().handlers.clear()
