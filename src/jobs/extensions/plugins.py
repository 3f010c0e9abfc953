"""Plugins: marketplaces cloned under DATA_DIR/.claude/plugins, DATA_DIR/plugins.json, and the
enabled plugins as SDK plugin configs.

Layout under `root` (DATA_DIR/.claude/plugins): `marketplaces/<name>/` (git clones) and
`installed/<marketplace>/<plugin>/` (a copy of each installed plugin, so updating a
marketplace never changes a plugin under a running session). Every change goes through a
staging folder first and is recorded in plugins.json last.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from claude_agent_sdk import SdkPluginConfig
from pydantic import BaseModel, field_validator

from jobs.clock import Clock, utc_now
from jobs.errors import ExtensionError
from jobs.extensions import git
from jobs.extensions.marketplaces import Catalog, Listing, load_catalog, rank
from jobs.extensions.plugin_files import fetch_plugin, staging
from jobs.extensions.state import KEBAB, read_state, remove_tree, write_state

MAX_MARKETPLACES: Final = 20


class MarketplaceRecord(BaseModel):
    source: str
    added_at: datetime
    updated_at: datetime
    commit: str | None = None


class InstalledPlugin(BaseModel):
    name: str
    marketplace: str
    version: str | None = None
    enabled: bool = True
    installed_at: datetime
    commit: str | None = None

    @field_validator("name", "marketplace")
    @classmethod
    def _kebab(cls, value: str) -> str:
        # These become folder names: a hand-edited file must not lead outside DATA_DIR.
        if not KEBAB.fullmatch(value):
            raise ValueError("must be kebab-case")
        return value

    @property
    def key(self) -> str:
        return f"{self.name}@{self.marketplace}"


class PluginsFile(BaseModel):
    """The content of plugins.json."""

    marketplaces: dict[str, MarketplaceRecord] = {}
    plugins: dict[str, InstalledPlugin] = {}

    @field_validator("marketplaces")
    @classmethod
    def _names(cls, value: dict[str, MarketplaceRecord]) -> dict[str, MarketplaceRecord]:
        bad = [name for name in value if not KEBAB.fullmatch(name)]
        if bad:
            raise ValueError(f"marketplace names must be kebab-case: {', '.join(bad[:3])}")
        return value


@dataclass(frozen=True, slots=True)
class MarketplaceUpdate:
    name: str
    commit: str | None
    outdated: tuple[str, ...]
    """Installed plugins whose listed version differs from the installed one."""


class Plugins:
    """Marketplaces and installed plugins; `revision` counts changes to the enabled set."""

    def __init__(self, *, root: Path, state_file: Path, clock: Clock = utc_now) -> None:
        self._root = root
        self._state_file = state_file
        self._clock = clock
        self._state = read_state(state_file, PluginsFile)
        self._lock = asyncio.Lock()
        self.revision = 0

    # -- marketplaces ------------------------------------------------------------------------

    def marketplaces(self) -> dict[str, MarketplaceRecord]:
        return dict(sorted(self._state.marketplaces.items()))

    def catalog(self, name: str, /) -> Catalog:
        self._record(name)
        return load_catalog(self._marketplace_dir(name))

    async def add_marketplace(self, source: str, /) -> Catalog:
        """Clone, validate, then move into place: a bad source leaves nothing behind."""
        url = git.resolve_source(source)
        async with self._lock:
            if len(self._state.marketplaces) >= MAX_MARKETPLACES:
                raise ExtensionError(f"There are already {MAX_MARKETPLACES} marketplaces.")
            with staging(self._root) as tmp:
                catalog = await self._clone_catalog(url, tmp / "repo")
                if catalog.name in self._state.marketplaces:
                    raise ExtensionError(
                        f"The marketplace {catalog.name!r} is already added; "
                        "plugin_marketplace_update refreshes it."
                    )
                commit = await git.head(catalog.root)
                dest = self._marketplace_dir(catalog.name)
                remove_tree(dest)  # a leftover of a crash, never in plugins.json
                dest.parent.mkdir(parents=True, exist_ok=True)
                catalog.root.rename(dest)
            now = self._clock()
            record = MarketplaceRecord(source=url, added_at=now, updated_at=now, commit=commit)
            self._save(marketplaces={**self._state.marketplaces, catalog.name: record})
            return load_catalog(dest)

    async def update_marketplace(self, name: str, /) -> MarketplaceUpdate:
        """Clone the marketplace afresh and swap it in only if its catalog is still valid."""
        async with self._lock:
            record = self._record(name)
            with staging(self._root) as tmp:
                catalog = await self._clone_catalog(record.source, tmp / "repo")
                if catalog.name != name:
                    raise ExtensionError(
                        f"The marketplace now calls itself {catalog.name!r}, not {name!r}; "
                        "add it again under its new name."
                    )
                commit = await git.head(catalog.root)
                dest = self._marketplace_dir(name)
                if dest.exists():
                    dest.rename(tmp / "old")
                catalog.root.rename(dest)
            updated = record.model_copy(update={"updated_at": self._clock(), "commit": commit})
            self._save(marketplaces={**self._state.marketplaces, name: updated})
            return MarketplaceUpdate(name, commit, self._outdated(load_catalog(dest)))

    async def remove_marketplace(self, name: str, /) -> None:
        async with self._lock:
            self._record(name)
            users = [p.key for p in self._state.plugins.values() if p.marketplace == name]
            if users:
                raise ExtensionError(
                    f"Plugins from {name!r} are installed ({', '.join(users)}); remove them first."
                )
            remove_tree(self._marketplace_dir(name))
            self._save(
                marketplaces={k: v for k, v in self._state.marketplaces.items() if k != name}
            )

    # -- the catalog -------------------------------------------------------------------------

    def available(self, marketplace: str | None = None, /) -> list[Listing]:
        names = [marketplace] if marketplace else list(self.marketplaces())
        return [listing for name in names for listing in self.catalog(name).listings]

    def search(self, query: str, /, *, limit: int = 10) -> list[Listing]:
        return rank(query, self._all_listings())[:limit]

    def find(self, plugin: str, /) -> Listing:
        """The listing for `name` or `name@marketplace`; clear errors for unknown/ambiguous."""
        name, _, market = plugin.strip().partition("@")
        found = [
            listing
            for listing in (self.available(market) if market else self._all_listings())
            if listing.name == name
        ]
        if not found:
            where = f"marketplace {market!r}" if market else "any added marketplace"
            raise ExtensionError(
                f"No plugin named {name!r} in {where}. plugin_search finds plugins by topic; "
                "plugin_available lists them all."
            )
        if len(found) > 1:
            keys = ", ".join(listing.key for listing in found)
            raise ExtensionError(f"{name!r} is in several marketplaces; name one of: {keys}.")
        return found[0]

    # -- installed plugins -------------------------------------------------------------------

    def installed(self) -> list[InstalledPlugin]:
        return [self._state.plugins[key] for key in sorted(self._state.plugins)]

    async def install(self, plugin: str, /) -> InstalledPlugin:
        """Install (or reinstall, to update) and enable a plugin."""
        async with self._lock:
            listing = self.find(plugin)
            catalog = self.catalog(listing.marketplace)
            with staging(self._root) as tmp:
                folder = await fetch_plugin(listing, catalog, tmp)
                dest = self._plugin_dir(listing.marketplace, listing.name)
                if dest.exists():
                    dest.rename(tmp / "old")
                dest.parent.mkdir(parents=True, exist_ok=True)
                folder.rename(dest)
            installed = InstalledPlugin(
                name=listing.name,
                marketplace=listing.marketplace,
                version=listing.version,
                installed_at=self._clock(),
                commit=self._state.marketplaces[listing.marketplace].commit,
            )
            self._save(plugins={**self._state.plugins, installed.key: installed})
            return installed

    def set_enabled(self, plugin: str, enabled: bool, /) -> bool:
        """Enable or disable an installed plugin; False when it already was."""
        current = self._installed(plugin)
        if current.enabled == enabled:
            return False
        changed = current.model_copy(update={"enabled": enabled})
        self._save(plugins={**self._state.plugins, current.key: changed})
        return True

    async def remove(self, plugin: str, /) -> InstalledPlugin:
        async with self._lock:
            current = self._installed(plugin)
            self._save(plugins={k: v for k, v in self._state.plugins.items() if k != current.key})
            remove_tree(self._plugin_dir(current.marketplace, current.name))
            return current

    def active(self) -> tuple[list[SdkPluginConfig], frozenset[str]]:
        """SDK configs of the enabled plugins, and the MCP tool prefixes their servers get."""
        enabled = [p for p in self.installed() if p.enabled]
        folders = [(p, self._plugin_dir(p.marketplace, p.name)) for p in enabled]
        present = [(p, folder) for p, folder in folders if folder.is_dir()]
        configs: list[SdkPluginConfig] = [{"type": "local", "path": str(f)} for _p, f in present]
        # Claude Code names a plugin's MCP tools mcp__plugin_<plugin>_<server>__<tool>.
        return configs, frozenset(f"mcp__plugin_{p.name}_" for p, _f in present)

    # -- internals ---------------------------------------------------------------------------

    def _record(self, name: str) -> MarketplaceRecord:
        record = self._state.marketplaces.get(name)
        if record is None:
            known = ", ".join(sorted(self._state.marketplaces)) or "none yet"
            raise ExtensionError(f"There is no marketplace {name!r} (added: {known}).")
        return record

    def _installed(self, plugin: str) -> InstalledPlugin:
        name, _, market = plugin.strip().partition("@")
        found = [
            p
            for p in self.installed()
            if p.name == name and (not market or p.marketplace == market)
        ]
        if not found:
            raise ExtensionError(f"{plugin!r} is not installed; plugin_list shows what is.")
        if len(found) > 1:
            raise ExtensionError(f"Name one of: {', '.join(p.key for p in found)}.")
        return found[0]

    def _all_listings(self) -> list[Listing]:
        listings: list[Listing] = []
        for name in self.marketplaces():
            try:
                listings += self.catalog(name).listings
            except ExtensionError:
                continue  # a broken clone is reported by plugin_available for that marketplace
        return listings

    def _outdated(self, catalog: Catalog) -> tuple[str, ...]:
        listed = {listing.name: listing.version for listing in catalog.listings}
        return tuple(
            p.key
            for p in self.installed()
            if p.marketplace == catalog.name and p.name in listed and listed[p.name] != p.version
        )

    async def _clone_catalog(self, url: str, dest: Path) -> Catalog:
        await git.clone(url, dest)
        return load_catalog(dest)

    def _marketplace_dir(self, name: str) -> Path:
        return self._root / "marketplaces" / name

    def _plugin_dir(self, marketplace: str, name: str) -> Path:
        return self._root / "installed" / marketplace / name

    def _save(
        self,
        *,
        marketplaces: dict[str, MarketplaceRecord] | None = None,
        plugins: dict[str, InstalledPlugin] | None = None,
    ) -> None:
        state = PluginsFile(
            marketplaces=self._state.marketplaces if marketplaces is None else marketplaces,
            plugins=self._state.plugins if plugins is None else plugins,
        )
        write_state(self._state_file, state)
        self._state = state
        if plugins is not None:
            self.revision += 1
