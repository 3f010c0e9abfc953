"""MemoryContext: MEMORY.md as owner and task sessions get it at start, within a size budget."""

from __future__ import annotations

import asyncio
from typing import Final

from jobs.memory.document import within_budget
from jobs.memory.files import MemoryFiles

BUDGET_BYTES: Final = 8 * 1024

_INTRO: Final = (
    "# Your memory\n\n"
    "Below is MEMORY.md, your long-term memory about the owner, as it was when this session "
    "started (you get it again whenever it changes). Keep it current with memory_write: "
    "lasting facts, preferences, people, decisions; not passing chatter. Older things (daily "
    "logs in memory/, past conversations) are found with memory_search; note what happened "
    "today with daily_log_append."
)


class MemoryContext:
    """The system-prompt text about memory, and a version that changes when it would.

    SessionManager reads `version()` before every turn and restarts (resumes) a live session
    whose text is out of date; `for_session()` is read when a CLI process starts.
    """

    def __init__(self, *, files: MemoryFiles, budget: int = BUDGET_BYTES) -> None:
        self._files = files
        self._budget = budget

    def version(self) -> str:
        """Cheap (one stat): MEMORY.md's mtime and size, or "absent"."""
        try:
            stat = self._files.memory_path.stat()
        except FileNotFoundError:
            return "absent"
        return f"{stat.st_mtime_ns}:{stat.st_size}"

    async def for_session(self) -> str:
        text = await self._files.read(self._files.memory_path)
        if not text.strip():
            return f"{_INTRO}\n\nMEMORY.md is empty so far."
        shown, left_out = await asyncio.to_thread(within_budget, text, self._budget)
        note = ""
        if left_out:
            note = (
                f"\n[MEMORY.md is longer than the {self._budget // 1024} kB shown here: "
                f"{left_out} more entries follow. Read them with memory_read.]"
            )
        return f'{_INTRO}\n\n<memory file="MEMORY.md">\n{shown.rstrip()}{note}\n</memory>'
