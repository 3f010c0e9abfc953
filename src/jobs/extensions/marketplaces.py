"""Claude Code plugin manifests: marketplace.json catalogs, plugin.json, and ranked search.

A marketplace is a git repository with `.claude-plugin/marketplace.json`; each entry names a
plugin and its `source` (a folder in the same repository, or a git repository of its own).
A plugin is a folder, optionally with `.claude-plugin/plugin.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from jobs.errors import ExtensionError
from jobs.extensions.state import Model, check_kebab

MARKETPLACE_FILE: Final = Path(".claude-plugin") / "marketplace.json"
PLUGIN_FILE: Final = Path(".claude-plugin") / "plugin.json"
MAX_MANIFEST_BYTES: Final = 1024 * 1024
_WORD: Final = re.compile(r"[a-z0-9]+")


def _kebab(value: str, what: str) -> str:
    try:
        return check_kebab(value, what)
    except ExtensionError as exc:
        raise ValueError(str(exc)) from None


class MarketplaceManifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    plugins: list[dict[str, Any]]
    metadata: dict[str, Any] = {}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _kebab(value, "marketplace")


class MarketplaceEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    source: str | dict[str, Any]
    description: str = ""
    version: str | None = None
    keywords: list[str] = []
    tags: list[str] = []
    category: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _kebab(value, "plugin")


class PluginManifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    version: str | None = None
    description: str | None = None
    keywords: list[str] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _kebab(value, "plugin")


@dataclass(frozen=True, slots=True)
class Listing:
    """One plugin as a marketplace lists it."""

    name: str
    marketplace: str
    description: str
    version: str | None
    keywords: tuple[str, ...]
    source: str | dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.name}@{self.marketplace}"


@dataclass(frozen=True, slots=True)
class Catalog:
    """A parsed marketplace: its valid listings and why the others were skipped."""

    name: str
    root: Path
    plugin_root: str | None
    listings: tuple[Listing, ...]
    problems: tuple[str, ...] = ()


def load_catalog(root: Path, /) -> Catalog:
    """Read `root`/.claude-plugin/marketplace.json; ExtensionError if it is missing or broken."""
    manifest = _validated(root / MARKETPLACE_FILE, MarketplaceManifest, "marketplace")
    listings: list[Listing] = []
    problems: list[str] = []
    for index, raw in enumerate(manifest.plugins):
        try:
            entry = MarketplaceEntry.model_validate(raw)
        except ValidationError as exc:
            problems.append(f"entry {index + 1} ({str(raw.get('name'))[:40]}): {_first(exc)}")
            continue
        keywords = (*entry.keywords, *entry.tags, *([entry.category] if entry.category else []))
        listings.append(
            Listing(
                name=entry.name,
                marketplace=manifest.name,
                description=entry.description.strip(),
                version=entry.version,
                keywords=keywords,
                source=entry.source,
            )
        )
    root_dir = manifest.metadata.get("pluginRoot")
    plugin_root = root_dir if isinstance(root_dir, str) else None
    return Catalog(manifest.name, root, plugin_root, tuple(listings), tuple(problems))


def load_plugin_manifest(folder: Path, /) -> PluginManifest | None:
    """The plugin's plugin.json (None if it has none); ExtensionError if it is broken."""
    if not (folder / PLUGIN_FILE).exists():
        return None
    return _validated(folder / PLUGIN_FILE, PluginManifest, "plugin")


def check_plugin_json_files(folder: Path, /) -> None:
    """Refuse a plugin whose hooks or MCP config Claude Code could not parse."""
    for relative in (Path(".mcp.json"), Path("hooks") / "hooks.json"):
        path = folder / relative
        if path.is_file():
            try:
                json.loads(path.read_bytes()[:MAX_MANIFEST_BYTES])
            except ValueError as exc:
                raise ExtensionError(f"The plugin's {relative} is not valid JSON: {exc}") from None


def rank(query: str, listings: Iterable[Listing], /) -> list[Listing]:
    """Listings matching `query`, best first: name over keywords over description."""
    words = _WORD.findall(query.lower())
    if not words:
        return []
    scored = [(score, listing) for listing in listings if (score := _score(words, listing)) > 0]
    scored.sort(key=lambda pair: (-pair[0], pair[1].name, pair[1].marketplace))
    return [listing for _score_, listing in scored]


def _score(words: list[str], listing: Listing) -> float:
    name = listing.name
    name_words = set(_WORD.findall(name))
    keywords = {w for k in listing.keywords for w in _WORD.findall(k.lower())}
    description = set(_WORD.findall(listing.description.lower()))
    total = 0.0
    matched = 0
    for word in words:
        points = max(
            10.0 if word in name_words else 6.0 if word in name else 0.0,
            5.0 if word in keywords else 3.0 if any(word in k for k in keywords) else 0.0,
            2.0 if word in description else 1.0 if any(word in d for d in description) else 0.0,
        )
        total += points
        matched += points > 0
    if "-".join(words) == name:
        total += 20.0
    # A plugin matching every word of the query beats one matching a single word strongly.
    return total * (matched / len(words)) if matched else 0.0


def _validated(path: Path, model: type[Model], what: str) -> Model:
    if not path.is_file():
        raise ExtensionError(f"The {what} has no {path.parent.name}/{path.name}.")
    raw = path.read_bytes()
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ExtensionError(f"The {what}'s {path.name} is larger than 1 MB.")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ExtensionError(f"The {what}'s {path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ExtensionError(f"The {what}'s {path.name} must hold a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ExtensionError(f"The {what}'s {path.name} is not valid: {_first(exc)}") from None


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    return f"{where}: {str(err['msg']).removeprefix('Value error, ')}"
