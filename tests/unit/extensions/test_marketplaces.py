from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.errors import ExtensionError
from jobs.extensions.marketplaces import Listing, load_catalog, rank


def listing(name: str, description: str = "", *keywords: str) -> Listing:
    return Listing(name, "m", description, "1.0", keywords, f"./{name}")


CATALOG = [
    listing("github-tools", "Issues and pull requests", "git", "code-review"),
    listing("calendar", "Read and write your Google calendar", "meetings", "schedule"),
    listing("pdf-reader", "Extract text from PDF files", "documents"),
    listing("review-helper", "Helps review documents and code"),
    listing("weather", "Forecasts"),
]


def names(found: list[Listing]) -> list[str]:
    return [item.name for item in found]


def test_name_beats_keyword_beats_description() -> None:
    assert names(rank("review", CATALOG)) == ["review-helper", "github-tools"]
    assert names(rank("calendar", CATALOG)) == ["calendar"]
    assert names(rank("meetings", CATALOG))[0] == "calendar"
    assert names(rank("pdf", CATALOG)) == ["pdf-reader"]


def test_matching_every_word_ranks_first() -> None:
    found = names(rank("review documents", CATALOG))
    assert found[0] == "review-helper"
    assert set(found) == {"review-helper", "pdf-reader", "github-tools"}


def test_exact_name_and_no_match() -> None:
    assert names(rank("GitHub Tools", CATALOG))[0] == "github-tools"
    assert rank("zebra", CATALOG) == []
    assert rank("  !! ", CATALOG) == []


def write(root: Path, data: object) -> Path:
    path = root / ".claude-plugin" / "marketplace.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return root


def test_catalog_skips_broken_entries(tmp_path: Path) -> None:
    catalog = load_catalog(
        write(
            tmp_path,
            {
                "name": "mkt",
                "metadata": {"pluginRoot": "./plugins"},
                "plugins": [
                    {"name": "good", "source": "good", "tags": ["t"], "category": "c"},
                    {"name": "Bad Name", "source": "x"},
                    {"description": "no name"},
                ],
            },
        )
    )
    assert [item.key for item in catalog.listings] == ["good@mkt"]
    assert catalog.listings[0].keywords == ("t", "c")
    assert catalog.plugin_root == "./plugins"
    assert len(catalog.problems) == 2 and "entry 2" in catalog.problems[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no .claude-plugin/marketplace.json"),
        ("{not json", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ({"plugins": []}, "name: Field required"),
        ({"name": "UPPER", "plugins": []}, "not a valid marketplace name"),
        ({"name": "ok", "plugins": "nope"}, "plugins"),
    ],
)
def test_broken_marketplace_manifests(tmp_path: Path, content: object, message: str) -> None:
    if content is not None:
        write(tmp_path, content)
    with pytest.raises(ExtensionError, match=message):
        load_catalog(tmp_path)
