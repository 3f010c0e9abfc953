"""The launcher of a stdio MCP server that uses a stored secret: Claude Code starts this instead
of the server; it reads the secret store, puts the named values into the server's environment
and replaces itself with the server (exec), so the value exists only in that process.

Claude Code is handed `python -m jobs.extensions.secret_launch STORE SPEC`: SPEC is the
server's spec (names only, never a value) in base64, so the CLI's own `${…}` expansion leaves
it alone. Other references (`${HOME}`) resolve from the environment the CLI gave the launcher,
as the CLI would have resolved them. Imports stay light: this runs at each server start.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from jobs.extensions.references import expand

MODULE: Final = "jobs.extensions.secret_launch"
EXIT_BROKEN: Final = 3


def launch_command(spec_json: str, store: Path, /) -> tuple[str, list[str]]:
    """The command and arguments that start the server `spec_json` (a StdioSpec as JSON)
    through this launcher."""
    encoded = base64.urlsafe_b64encode(spec_json.encode()).decode()
    return sys.executable, ["-m", MODULE, str(store), encoded]


def server_process(
    spec: dict[str, Any], stored: dict[str, str], environ: dict[str, str]
) -> tuple[str, list[str], dict[str, str]]:
    """The server's command, argv and environment: `env` values resolved with the stored
    secrets first; the command and arguments from the environment only (a secret never goes
    on a command line)."""
    lookup = {**environ, **stored}
    command = expand(str(spec["command"]), environ)
    args = [expand(str(arg), environ) for arg in spec.get("args", [])]
    env = {**environ, **{str(k): expand(str(v), lookup) for k, v in spec.get("env", {}).items()}}
    return command, [command, *args], env


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write(f"usage: python -m {MODULE} STORE SPEC\n")
        return EXIT_BROKEN
    try:
        spec = json.loads(base64.urlsafe_b64decode(args[1]))
        stored = json.loads(Path(args[0]).read_text(encoding="utf-8")).get("values", {})
    except (OSError, ValueError) as exc:
        # Never the file's content: only why it could not be read.
        sys.stderr.write(f"jobs: cannot read the secret store {args[0]}: {type(exc).__name__}\n")
        return EXIT_BROKEN
    command, argv_out, env = server_process(spec, stored, dict(os.environ))
    try:
        os.execvpe(command, argv_out, env)
    except OSError as exc:
        sys.stderr.write(f"jobs: cannot start {command}: {exc.strerror or exc}\n")
    return EXIT_BROKEN


if __name__ == "__main__":
    sys.exit(main())
