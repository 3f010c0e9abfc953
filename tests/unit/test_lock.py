"""requirements.lock / requirements-dev.lock: every dependency pyproject.toml names is pinned there
at a version it allows, and this environment (made by scripts/install) has exactly those."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FIX = "run scripts/lock and commit both lock files"


def pins(lock: str) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;]+)", (ROOT / lock).read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in found}


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [
        ("requirements.lock", PROJECT["dependencies"]),
        (
            "requirements-dev.lock",
            PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"],
        ),
    ],
)
def test_every_dependency_is_pinned_where_pyproject_allows(lock: str, wanted: list[str]) -> None:
    pinned = pins(lock)
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not in {lock}: {FIX}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside {requirement.specifier}: {FIX}"
        )


def test_runtime_pins_agree_with_the_dev_pins() -> None:
    dev = pins("requirements-dev.lock")
    assert {n: v for n, v in pins("requirements.lock").items() if dev.get(n) != v} == {}


def test_this_environment_has_the_locked_versions() -> None:
    wrong = {}
    for name, version in pins("requirements-dev.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            wrong[name] = f"{installed}, locked {version}"
    assert wrong == {}, f"not what the lock pins (scripts/install dev installs it): {wrong}"
