"""What the extension stores share: JSON state files (validated read, atomic write) and names."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

from jobs.atomic import atomic_write
from jobs.errors import ExtensionError

KEBAB: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
"""Skill, plugin and marketplace names: lowercase words joined by single hyphens."""
MAX_NAME: Final = 64

Model = TypeVar("Model", bound=BaseModel)


def check_kebab(name: object, what: str, /) -> str:
    """`name` if it is a valid kebab-case name, else ExtensionError saying what is wrong."""
    if not isinstance(name, str) or not name:
        raise ExtensionError(f"Give the {what} name (kebab-case, like my-{what}).")
    if len(name) > MAX_NAME or not KEBAB.fullmatch(name):
        raise ExtensionError(
            f"{name[:80]!r} is not a valid {what} name: use lowercase letters, digits and "
            f"single hyphens (kebab-case, like my-{what}), at most {MAX_NAME} characters."
        )
    return name


def read_state(path: Path, model: type[Model], /) -> Model:
    """The file's content as `model`; a missing file is an empty state.

    A file that is not valid raises ExtensionError rather than being treated as empty: the
    next write would otherwise silently replace what the owner had configured.
    """
    if not path.exists():
        return model()
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors()[:5])
        raise ExtensionError(
            f"{path} is not valid ({problems}). Fix the file by hand or move it away."
        ) from None
    except OSError as exc:
        raise ExtensionError(f"Could not read {path}: {exc.strerror or exc}") from None


def write_state(path: Path, state: BaseModel, /, *, private: bool = False) -> None:
    """Replace the file atomically (a crash leaves the old or the new file, never half)."""
    text = json.dumps(state.model_dump(mode="json", exclude_defaults=False), indent=2) + "\n"
    atomic_write(path, text, mode=0o600 if private else None)


def remove_tree(path: Path, /) -> None:
    """Delete a folder (or a link to one, never what it points at); missing is fine."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _problem(err: object) -> str:
    if not isinstance(err, dict):
        return str(err)
    where = ".".join(str(part) for part in err.get("loc", ())) or "file"
    return f"{where}: {err.get('msg', 'invalid')}"
