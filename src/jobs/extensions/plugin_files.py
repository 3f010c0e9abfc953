"""Getting a plugin's files into place: from its marketplace or its own git repository, via a
staging folder, so a failure at any step leaves nothing half-installed."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from jobs.errors import ExtensionError
from jobs.extensions import git
from jobs.extensions.marketplaces import (
    Catalog,
    Listing,
    check_plugin_json_files,
    load_plugin_manifest,
)
from jobs.extensions.state import remove_tree

MAX_PLUGIN_BYTES: Final = 100 * 1024 * 1024


@contextmanager
def staging(parent: Path, /) -> Iterator[Path]:
    """A fresh folder under `parent`, removed on exit (whatever was not moved out of it)."""
    path = parent / f".staging-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        remove_tree(path)


async def fetch_plugin(listing: Listing, catalog: Catalog, into: Path, /) -> Path:
    """Copy the listed plugin into `into`/plugin and check it; the folder to install."""
    dest = into / "plugin"
    source = listing.source
    if isinstance(source, str):
        copy_tree(_inside_marketplace(source, catalog), dest)
    else:
        copy_tree(await _clone_source(source, into / "clone"), dest)
    check_plugin(dest, listing.name)
    return dest


def check_plugin(folder: Path, name: str, /) -> None:
    """The plugin's manifest (if any) must be valid and name the plugin as listed."""
    manifest = load_plugin_manifest(folder)
    if manifest is not None and manifest.name != name:
        raise ExtensionError(
            f"The plugin's plugin.json names {manifest.name!r}, but the marketplace lists "
            f"{name!r}; the marketplace is inconsistent."
        )
    check_plugin_json_files(folder)


def copy_tree(source: Path, dest: Path, /) -> None:
    """Copy without .git, and without links that lead outside the plugin's folder."""
    root = source.resolve()

    def ignored(folder: str, names: list[str]) -> set[str]:
        skip = {".git"}
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                skip.add(name)
        return skip

    try:
        shutil.copytree(root, dest, ignore=ignored, ignore_dangling_symlinks=True)
    except (OSError, shutil.Error) as exc:
        raise ExtensionError(f"Could not copy the plugin's files: {exc}") from None
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    if size > MAX_PLUGIN_BYTES:
        raise ExtensionError(f"The plugin is larger than {MAX_PLUGIN_BYTES // 2**20} MB.")


def _inside_marketplace(source: str, catalog: Catalog) -> Path:
    base = catalog.root
    if catalog.plugin_root and not source.startswith(("./", "../")):
        base = base / catalog.plugin_root
    folder = (base / source).resolve()
    if not folder.is_relative_to(catalog.root.resolve()):
        raise ExtensionError(f"The plugin's source {source!r} points outside its marketplace.")
    if not folder.is_dir():
        raise ExtensionError(f"The marketplace lists the folder {source!r}, which it lacks.")
    return folder


async def _clone_source(source: dict[str, Any], into: Path) -> Path:
    kind = source.get("source")
    ref = source.get("sha") or source.get("ref")
    if kind == "github" and isinstance(source.get("repo"), str):
        url = git.resolve_source(source["repo"])
    elif kind in ("url", "git-subdir") and isinstance(source.get("url") or source.get("repo"), str):
        url = git.resolve_source(str(source.get("url") or source.get("repo")))
    else:
        raise ExtensionError(
            f"The plugin's source kind {str(kind)[:40]!r} is not supported "
            "(supported: a folder of the marketplace, github, url, git-subdir)."
        )
    await git.clone(url, into, ref=ref if isinstance(ref, str) else None)
    sub = source.get("path") if kind == "git-subdir" else None
    return _subfolder(into, sub) if isinstance(sub, str) else into


def _subfolder(repo: Path, sub: str) -> Path:
    folder = (repo / sub).resolve()
    if not folder.is_relative_to(repo.resolve()) or not folder.is_dir():
        raise ExtensionError(f"The plugin's repository has no folder {sub!r}.")
    return folder
