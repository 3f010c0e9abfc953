from __future__ import annotations

from datetime import timedelta

from jobs.storage import AuditRepo, Database, UsageRepo, UsageTotals, redact
from jobs.storage.audit import MAX_DETAIL_TEXT, REDACTED
from tests.unit.storage.conftest import START, FakeClock

STRING_SESSION = (
    "1" + "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" * 5
)


def test_redact_masks_secret_keys_at_any_depth() -> None:
    detail = {
        "api_key": "abc",
        "OPENAI_API_KEY": "abc",
        "accessToken": "abc",
        "headers": {"Authorization": "Bearer abc", "Accept": "json"},
        "password": "hunter2",
        "tg_session": "anything",
        "session": "anything",
        "list": [{"client_secret": "abc"}, "plain"],
        "session_key": "owner",
        "session_id": "2f1e",
        "input_tokens": 12,
        "empty_token": "",
    }
    clean = redact(detail)
    for key in ("api_key", "OPENAI_API_KEY", "accessToken", "password", "tg_session", "session"):
        assert clean[key] == REDACTED, key
    assert clean["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert clean["list"] == [{"client_secret": REDACTED}, "plain"]
    assert (clean["session_key"], clean["session_id"], clean["input_tokens"]) == (
        "owner",
        "2f1e",
        12,
    )
    assert clean["empty_token"] == ""
    assert detail["api_key"] == "abc"  # the input is not changed


def test_redact_masks_secret_looking_strings() -> None:
    clean = redact(
        {
            "command": "curl -H 'x-api-key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz' https://x",
            "env": "ANTHROPIC_API_KEY=abc123 TG_SESSION='xyz' LANG=C",
            "auth": "Authorization: Bearer eyJhbGciOi.payload.sig",
            "text": f"here is my session {STRING_SESSION} ok",
            "bot": "token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_ tail",
        }
    )
    assert "sk-ant" not in str(clean["command"]) and "sk-" + REDACTED in str(clean["command"])
    assert clean["env"] == f"ANTHROPIC_API_KEY={REDACTED} TG_SESSION={REDACTED} LANG=C"
    assert "eyJ" not in str(clean["auth"])
    assert clean["text"] == f"here is my session {REDACTED} ok"
    assert "AAHdq" not in str(clean["bot"])


def test_redact_cuts_long_text() -> None:
    clean = redact({"output": "x" * (MAX_DETAIL_TEXT + 10)})
    assert str(clean["output"]).endswith("[10 more characters]")


async def test_audit_record_writes_redacted_detail(db: Database, clock: FakeClock) -> None:
    audit = AuditRepo(db)
    first = await audit.record(
        "tool_call",
        session_key="owner",
        role="owner",
        tool="Bash",
        detail={"command": "echo hi", "token": "secret-value"},
        decision="allowed",
    )
    clock.advance(seconds=1)
    second = await audit.record("role_violation", role="external", person_id=7)
    raw = await db.fetch_one("SELECT detail FROM audit WHERE id = ?", (first,))
    assert raw is not None and "secret-value" not in raw["detail"]
    latest = await audit.latest(10)
    assert [entry.id for entry in latest] == [second, first]
    entry = latest[1]
    assert entry.detail == {"command": "echo hi", "token": REDACTED}
    assert (entry.event, entry.tool, entry.decision, entry.at) == (
        "tool_call",
        "Bash",
        "allowed",
        START,
    )
    assert latest[0].detail == {}
    assert [e.id for e in await audit.latest(1)] == [second]


async def test_usage_totals_per_role_and_period(db: Database, clock: FakeClock) -> None:
    usage = UsageRepo(db)
    await usage.record(
        "owner", "owner", None, "opus", input_tokens=100, output_tokens=10, cost_usd=0.5
    )
    await usage.record(
        "owner", "owner", None, "opus", input_tokens=50, cache_read_tokens=7, duration_ms=900
    )
    await usage.record("external:7", "external", 7, "haiku", output_tokens=3, cost_usd=0.01)
    clock.advance(days=1)
    await usage.record("owner", "owner", None, "opus", input_tokens=1000, cache_write_tokens=4)

    day_one = await usage.totals(START, START + timedelta(days=1))
    assert day_one == {
        "external": UsageTotals(
            turns=1,
            input_tokens=0,
            output_tokens=3,
            cache_read_tokens=0,
            cache_write_tokens=0,
            cost_usd=0.01,
            duration_ms=0,
        ),
        "owner": UsageTotals(
            turns=2,
            input_tokens=150,
            output_tokens=10,
            cache_read_tokens=7,
            cache_write_tokens=0,
            cost_usd=0.5,
            duration_ms=900,
        ),
    }
    everything = await usage.totals(START)
    assert everything["owner"].turns == 3
    assert everything["owner"].cache_write_tokens == 4
    assert await usage.totals(START + timedelta(days=5)) == {}
