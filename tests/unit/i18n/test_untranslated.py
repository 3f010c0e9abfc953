"""Every fixed text a person reads goes through the translation layer."""

from __future__ import annotations

from pathlib import Path

from tests.unit.i18n.catalog_files import SRC
from tests.unit.i18n.untranslated import findings, is_prose

NOT_FOR_PEOPLE = {
    # What people never read: stored data, the model's own prompts and tool results (the
    # model answers in the person's language), transport, and settings errors shown before
    # any language is known.
    "storage": "SQL and stored values",
    "sessions": "prompts and tool-call framing for the model",
    "tools": "tool descriptions and results, read by the model (what a tool sends a person is "
    "translated where it is made: browser_admin's link, features' summary frame)",
    "memory": "memory files and search results, read by the model",
    "extensions": "skills, plugins and MCP servers: results read by the model",
    **dict.fromkeys(
        (
            "telegram/api.py",
            "telegram/channel_posts.py",
            "telegram/erase.py",
            "telegram/failures.py",
            "telegram/formatting.py",
            "telegram/inbound.py",
            "telegram/inline_markdown.py",
            "telegram/outbound.py",
            "telegram/people.py",
            "telegram/rendering.py",
            "telegram/sessionfile.py",
            "telegram/splitting.py",
            "telegram/values.py",
        ),
        "transport: Telegram's requests, errors and values, read by the model",
    ),
    "i18n": "the translation layer itself",
    "config.py": "settings errors: shown before any setting, OWNER_LANGUAGE included, is read",
    "errors.py": "the error classes",
    "logs.py": "log formatting",
    "health.py": "the /health JSON for a supervisor",
    "auditlog.py": "`jobs audit` prints stored audit rows",
    "messages.py": "message values",
    "richtext.py": "the notice builder (the words it is given are already translated)",
    "delegation/prompts.py": "a task's prompts, for the model (its report frame is translated)",
    "conversation/plan.py": "what a turn tells its session, for the model (the taint causes it "
    "names are recorded, and shown with an approval, as said)",
    "conversation/routes.py": "why a message is ignored: stored for the log",
    "triggers/cron.py": "schedule expressions",
    "triggers/events.py": "trigger payloads, for the model",
    "voice.py": "transcription (its text is the speaker's own)",
    "telegram/connection.py": "why Telegram cannot be reached: raised errors (English, as all)",
    "proxy.py": "a setting's error (shown before settings are read)",
    "healthcheck.py": "`jobs health`: one line for Docker's HEALTHCHECK and service managers",
}
NOT_YET: dict[str, str] = {}
"""Modules whose messages are still English only (each one is a bug to fix)."""


def _skipped(relative: str) -> bool:
    parts = relative.split("/")
    return any("/".join(parts[: i + 1]) in NOT_FOR_PEOPLE | NOT_YET for i in range(len(parts)))


def test_no_message_module_has_untranslated_text():
    found = [
        str(finding)
        for path in sorted(SRC.rglob("*.py"))
        if not _skipped(path.relative_to(SRC).as_posix())
        for finding in findings(path)
    ]
    assert not found, "wrap these in gettext/ngettext (see CLAUDE.md):\n" + "\n".join(found)


def test_the_check_sees_a_bypassed_string(tmp_path: Path):
    module = tmp_path / "notice.py"
    module.write_text(
        '"""A module."""\n'
        "def stop(t, who):\n"
        '    logger.info("stopping %s now", who)\n'
        '    done = t.gettext("Stopping what I was doing.")\n'
        '    model = "[Answer in the person\'s language.]"  # i18n: skip\n'
        '    return f"I stopped {who} for you."\n'
        "def bad(t, text):\n"
        "    return t.gettext(text)\n"
    )
    found = list(findings(module))
    assert sorted({f.line for f in found}) == [6, 8], found


def test_prose_is_words_not_identifiers():
    assert is_prose("Stopping what I was doing.")
    assert is_prose("Done.")
    assert is_prose("Остановлено.")
    assert not is_prose("approve")
    assert not is_prose("/approve_{code}")
    assert not is_prose("utf-8")
