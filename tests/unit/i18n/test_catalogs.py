"""The catalogs: in step with the code, complete for every shipped language, compiled, safe."""

from __future__ import annotations

import gettext
import re

import pytest

from jobs.i18n.catalogs import Catalogs
from jobs.i18n.translator import placeholders
from tests.unit.i18n.catalog_files import (
    SRC,
    TEMPLATE,
    entries,
    extracted,
    languages,
    po_path,
    read,
)
from tests.unit.i18n.untranslated import literal_messages

_MARKUP = re.compile(r"[*`\[\]]|__|(?<!\w)_(?=\w)|(?<=\w)_(?!\w)")


def test_russian_is_shipped():
    assert "ru" in languages()
    assert Catalogs.shipped().languages == ("en", *languages())


def test_the_template_has_every_string_the_code_uses():
    """Fails when a string was added or changed without `scripts/i18n`."""
    in_template = set(entries(read(TEMPLATE)))
    missing, stale = extracted() - in_template, in_template - extracted()
    assert not missing, f"run scripts/i18n: not in the template: {sorted(missing)[:10]}"
    assert not stale, f"run scripts/i18n: no longer in the code: {sorted(stale)[:10]}"


def test_the_extractor_finds_every_message_the_code_translates():
    """Babel reads calls by their tokens: a variable named like a keyword (`rich`) once hid
    messages from it. Every literal a translator call gets must be in the template."""
    found = {msgid for msgid, _context in extracted()}
    used = {m for path in SRC.rglob("*.py") for m in literal_messages(path)}
    assert not used - found, sorted(used - found)[:10]


@pytest.mark.parametrize("code", languages())
def test_every_string_is_translated(code):
    catalog = entries(read(po_path(code)))
    needed = extracted()
    untranslated = sorted(
        key
        for key in needed
        if key not in catalog or catalog[key].fuzzy or not all(_forms(catalog[key].string))
    )
    assert not untranslated, f"{code}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"


@pytest.mark.parametrize("code", languages())
def test_translations_keep_placeholders_and_markup(code):
    """A translation fills the same values and keeps the same Markdown, or a message would
    lose a value or break its formatting in that language only."""
    for (msgid, _context), message in entries(read(po_path(code))).items():
        ids = _forms(message.id)
        strings = _forms(message.string)
        wanted = set().union(*(placeholders(i) for i in ids))
        for string in strings:
            assert placeholders(string) <= wanted, (msgid, string)
            assert placeholders(string) >= placeholders(ids[0]) - {"n"}, (msgid, string)
            assert sorted(_MARKUP.findall(string)) == sorted(_MARKUP.findall(ids[0])), (
                msgid,
                string,
            )


@pytest.mark.parametrize("code", languages())
def test_the_compiled_catalog_matches_its_source(code):
    """The committed .mo is what `scripts/i18n` compiles from the .po (a fresh clone and the
    image use it as it is)."""
    with (po_path(code).with_suffix(".mo")).open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    for (msgid, context), message in entries(read(po_path(code))).items():
        if isinstance(message.id, tuple | list):
            forms = _forms(message.string)
            for n in (1, 2, 5):
                got = (
                    compiled.npgettext(context, message.id[0], message.id[1], n)
                    if context
                    else compiled.ngettext(message.id[0], message.id[1], n)
                )
                assert got in forms, (msgid, n)
        else:
            got = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
            assert got == message.string, f"run scripts/i18n: {code} .mo is stale at {msgid!r}"


def _forms(string: object) -> list[str]:
    return list(string) if isinstance(string, tuple | list) else [str(string)]
