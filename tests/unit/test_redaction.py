"""KnownSecrets: every stored value and its common encodings masked, from the moment it is
added; the log filter set up at start learns the app's values."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

from jobs.logs import RedactingFilter
from jobs.redaction import KnownSecrets
from jobs.storage import AuditRepo, Database

VALUE = "ghp_S3cr3t/Value+x?y=z"


def test_each_encoding_is_masked() -> None:
    known = KnownSecrets([VALUE])
    raw = VALUE.encode()
    forms = {
        "plain": VALUE,
        "json": json.dumps(VALUE)[1:-1],
        "url": quote(VALUE, safe=""),
        "url, / kept": quote(VALUE),
        "form": quote_plus(VALUE),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "reversed": VALUE[::-1],
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
    }
    for what, form in forms.items():
        assert known.mask(f"<{form}>") == "<***>", what


def test_base64_inside_a_longer_encoding_is_masked_at_every_offset() -> None:
    known = KnownSecrets([VALUE])
    for prefix in (b"", b"u:", b"user:", b"ab"):
        encoded = base64.b64encode(prefix + VALUE.encode() + b"!tail").decode()
        masked = known.mask(encoded)
        assert "***" in masked, prefix
        # What is left can only be the prefix, the tail and at most two edge characters.
        assert len(masked.replace("***", "")) <= len(encoded) - len(VALUE) * 4 // 3 + 4


def test_values_join_and_leave_at_run_time_and_short_ones_are_ignored() -> None:
    known = KnownSecrets()
    assert known.mask(VALUE) == VALUE
    known.add(VALUE)
    known.add("12345")  # too short: would mask ordinary numbers
    assert known.mask(f"a {VALUE} 12345") == "a *** 12345"
    known.discard(VALUE)
    assert known.mask(VALUE) == VALUE


def test_the_log_filter_learns_the_apps_values() -> None:
    redactor = RedactingFilter(["settings-secret-1"])
    known = KnownSecrets()
    redactor.also(known)
    known.add(VALUE)
    record = logging.LogRecord(
        "x", logging.INFO, "f", 1, "got %s and %s", (VALUE, "settings-secret-1"), None
    )
    redactor.filter(record)
    assert record.getMessage() == "got *** and ***"


async def test_the_audit_masks_a_value_added_later(db: Database) -> None:
    known = KnownSecrets()
    audit = AuditRepo(db, secrets=known)
    known.add(VALUE)
    await audit.record("tool_call", detail={"input": {"command": f"curl -u {VALUE}"}})
    [entry] = await audit.latest()
    assert entry.detail == {"input": {"command": "curl -u [redacted]"}}
