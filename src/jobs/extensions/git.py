"""The git commands plugins need (clone, head), run as subprocesses with a deadline."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Final

from jobs.errors import ExtensionError

DEFAULT_TIMEOUT: Final = 120.0
_SHORTHAND: Final = re.compile(
    r"^(?:github:)?([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+?)(?:\.git)?$"
)
_REMOTE: Final = re.compile(r"^(https?://|ssh://|git://|file://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)")
_SHA: Final = re.compile(r"^[0-9a-f]{7,40}$")
# Never ask for credentials on a terminal nobody watches; never run a remote helper command.
_ENV: Final = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C"}
_SAFE: Final = ("-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null")


def resolve_source(source: str, /) -> str:
    """A git URL or local repository path to clone, from what the owner typed.

    Accepts https/ssh/git/file URLs, `git@host:path`, `owner/repo` or `github:owner/repo`
    (GitHub), and paths of local repositories. Raises ExtensionError with what is wrong.
    """
    source = source.strip()
    if not source or source.startswith("-"):
        raise ExtensionError("Give a git URL (https://…, git@…) or the path of a git repository.")
    local = Path(source).expanduser()
    if source.startswith(("/", "./", "../", "~")) or local.exists():
        return str(_local_repository(local))
    if _REMOTE.match(source):
        return source
    short = _SHORTHAND.match(source)
    if short:
        return f"https://github.com/{short.group(1)}/{short.group(2)}.git"
    raise ExtensionError(
        f"{source!r} is neither a git URL, a GitHub owner/repo, nor an existing folder."
    )


def is_local(source: str, /) -> bool:
    return source.startswith("/")


async def clone(
    source: str, dest: Path, /, *, ref: str | None = None, time_limit: float = DEFAULT_TIMEOUT
) -> None:
    """Clone `source` (from resolve_source) into `dest`, which must not exist."""
    args = ["clone", "--quiet", "--no-recurse-submodules"]
    if not is_local(source):
        args += ["--depth", "1"]
    if ref is not None and not _SHA.match(ref):
        args += ["--branch", ref]
    await run_git(*args, "--", source, str(dest), time_limit=time_limit)
    if ref is not None and _SHA.match(ref):
        await run_git("-C", str(dest), "fetch", "--quiet", "--depth", "1", "origin", ref)
        await run_git("-C", str(dest), "checkout", "--quiet", ref)


async def head(repo: Path, /) -> str:
    """The commit checked out in `repo`."""
    return (await run_git("-C", str(repo), "rev-parse", "HEAD")).strip()


async def run_git(*args: str, time_limit: float = DEFAULT_TIMEOUT) -> str:
    """Run git; its stdout, or ExtensionError carrying the end of its error output."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *_SAFE,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **_ENV},
        )
    except FileNotFoundError:
        raise ExtensionError(
            "git is not installed; Jobs needs it for plugin marketplaces."
        ) from None
    try:
        async with asyncio.timeout(time_limit):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ExtensionError(
            f"git {_verb(args)} took longer than {time_limit:.0f} s and was stopped."
        ) from None
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        reason = " ".join(line.removeprefix("fatal: ") for line in detail[-3:]) or "no details"
        raise ExtensionError(f"git {_verb(args)} failed: {reason[:600]}")
    return out.decode(errors="replace")


def _local_repository(path: Path) -> Path:
    path = path.resolve()
    if not path.exists():
        raise ExtensionError(f"There is no folder {str(path)!r}.")
    if not path.is_dir():
        raise ExtensionError(f"{str(path)!r} is a file, not a git repository.")
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir()
    if not (path / ".git").exists() and not bare:
        raise ExtensionError(
            f"{str(path)!r} is a folder but not a git repository: a marketplace must be a git "
            "repository (run `git init` and commit its files there), or give a git URL."
        )
    return path


def _verb(args: tuple[str, ...]) -> str:
    return args[2] if args[:1] == ("-C",) and len(args) > 2 else args[0]
