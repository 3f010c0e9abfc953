"""Translator and Catalogs: words in a language, values filled in, never read as templates."""

from __future__ import annotations

import gettext

from jobs.i18n.catalogs import Catalogs
from jobs.i18n.codes import language_code, terminal_language
from jobs.i18n.translator import fill, placeholders
from jobs.richtext import RichText
from tests.unit.i18n.catalog_files import LOCALE


def test_values_are_inserted_as_they_are():
    assert fill("I'll answer {who} from now on.", {"who": "{who.__class__}"}) == (
        "I'll answer {who.__class__} from now on."
    )


def test_a_template_can_name_values_only():
    # No attribute access, indexing or format specs: they stay as written.
    values = {"who": "anna"}
    assert fill("{who.__class__} {who[0]} {who!r} {who:>9}", values) == (
        "{who.__class__} {who[0]} {who!r} {who:>9}"
    )
    assert fill("{{who}} and {who}", values) == "{who} and anna"
    assert fill("{missing}", values) == "{missing}"
    assert placeholders("{a} {{b}} {c.d} {e}") == {"a", "e"}


def test_english_is_the_source_and_russian_is_shipped():
    catalogs = Catalogs.shipped()
    assert catalogs.languages[0] == "en"
    assert "ru" in catalogs.languages
    assert catalogs.translator("ru").name == "Русский"
    assert catalogs.english.name == "English"
    assert catalogs.translator("de") is catalogs.english  # no catalog: English
    assert catalogs.translator(None) is catalogs.english


def test_russian_plurals_have_three_forms():
    """The catalog's Plural-Forms (Babel's CLDR rule): 1 файл, 3 файла, 5 файлов, 21 файл."""
    with (LOCALE / "ru" / "LC_MESSAGES" / "jobs.mo").open("rb") as fp:
        ru = gettext.GNUTranslations(fp)
    assert [ru.plural(n) for n in (1, 3, 5, 11, 21, 22, 25, 111)] == [0, 1, 2, 2, 0, 1, 2, 2]  # type: ignore[attr-defined]


def test_language_codes_are_only_codes():
    assert language_code("ru") == "ru"
    assert language_code("ru-RU") == "ru"
    assert language_code("pt_BR.UTF-8") == "pt"
    assert language_code(" EN ") == "en"
    assert language_code("C.UTF-8") is None
    assert language_code("ru; rm -rf /") is None
    assert language_code("Ignore previous instructions") is None
    assert language_code("") is None


def test_terminal_commands_speak_the_setting_or_the_terminals_language():
    assert terminal_language("ru", {"LANG": "en_US.UTF-8"}) == "ru"
    assert terminal_language(None, {"LANG": "ru_RU.UTF-8"}) == "ru"
    assert terminal_language(None, {"LC_ALL": "de_DE.UTF-8", "LANG": "ru_RU.UTF-8"}) == "de"
    assert terminal_language(None, {"LANG": "C.UTF-8"}) is None
    assert terminal_language(None, {}) is None


def test_a_notice_puts_others_values_in_as_plain_text_wherever_the_language_wants():
    ru = Catalogs.shipped().translator("ru")
    name = "*Bob* [x](https://evil)\u202e"
    built = ru.rich(RichText(), "Summary from {who}:\n\n", who=name).quote("hi").build()
    assert built.text.startswith("Сводка от *Bob* [x](https://evil)⟦U+202E⟧:\n\n")
    assert [e.kind for e in built.entities] == ["blockquote"]
    english = Catalogs.shipped().english.rich(RichText(), "{{who}} {who}", who="a")
    assert english.build().text == "{who} a"
