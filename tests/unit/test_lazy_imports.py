"""Heavy optional libraries stay out of the Jobs process until something needs them: openai
(≈ 40 MB) loads with the first voice note or embedding, numpy (≈ 16 MB) with the first vector,
prompt_toolkit (≈ 7 MB) with the first question or `jobs chat`, httpx (≈ 4 MB with rich) with
the first browser check, fastText with the first message from someone else (issue 15: an idle
Jobs ≤ 120 MB RSS)."""

import subprocess
import sys
from pathlib import Path

STARTING = """
import sys
import jobs.app, jobs.cli, jobs.modes, jobs.questions, jobs.setup
from jobs.questions import TerminalQuestions
TerminalQuestions()  # `jobs run` on a terminal makes one, and asks nothing once set up
heavy = ("openai", "numpy", "prompt_toolkit", "httpx", "fasttext")
print(",".join(m for m in heavy if m in sys.modules))
"""

REMEMBERING = """
import asyncio, sys
from datetime import UTC
from pathlib import Path
from jobs.memory import open_memory
from jobs.storage import Database

async def main(root: Path) -> None:
    db = await Database.open(root / "db.sqlite")
    store = open_memory(db=db, workspace=root / "workspace", zone=UTC, embedder=None)
    await store.start()
    await store.append_daily("The milk is in the fridge.")
    print(len((await store.search("milk")).hits), end=" ")
    await store.aclose()
    await db.close()

asyncio.run(main(Path(sys.argv[1])))
print(",".join(m for m in ("openai", "numpy") if m in sys.modules))
"""


def probe(script: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def test_starting_jobs_imports_none_of_the_heavy_optional_libraries() -> None:
    assert probe(STARTING) == ""


def test_memory_without_embeddings_never_imports_them(tmp_path: Path) -> None:
    assert probe(REMEMBERING, str(tmp_path)) == "1"
