from __future__ import annotations

import os

from jobs.memory import MemoryContext, MemoryFiles


async def test_empty_memory_says_so(files: MemoryFiles) -> None:
    context = MemoryContext(files=files)
    assert context.version() == "absent"
    text = await context.for_session()
    assert "memory_write" in text and "MEMORY.md is empty so far." in text


async def test_memory_is_given_whole_when_it_fits(files: MemoryFiles) -> None:
    await files.write(files.memory_path, "# Memory\n\n## People\n- Anna (wife) loves tulips\n")
    text = await MemoryContext(files=files).for_session()
    assert (
        '<memory file="MEMORY.md">\n# Memory\n\n## People\n- Anna (wife) loves tulips\n</memory>'
        in text
    )
    assert "more entries follow" not in text


async def test_a_long_memory_is_cut_at_an_entry_with_a_note(files: MemoryFiles) -> None:
    entries = "".join(f"- fact number {i}: {'x' * 80}\n" for i in range(200))
    await files.write(files.memory_path, "# Memory\n\n## Facts\n" + entries)
    text = await MemoryContext(files=files, budget=8192).for_session()
    body = text.split('<memory file="MEMORY.md">\n', 1)[1]
    shown = body.split("\n[MEMORY.md is longer", 1)[0]
    assert len(shown.encode()) <= 8192
    assert shown.rstrip().splitlines()[-1].startswith("- fact number")
    assert shown.rstrip().endswith("x" * 80)  # whole entries only
    kept = shown.count("- fact number")
    assert f"{200 - kept} more entries follow. Read them with memory_read." in text


async def test_version_changes_with_the_file(files: MemoryFiles) -> None:
    context = MemoryContext(files=files)
    await files.write(files.memory_path, "# Memory\n\n- one\n")
    first = context.version()
    assert context.version() == first
    await files.write(files.memory_path, "# Memory\n\n- two\n")
    stat = files.memory_path.stat()
    os.utime(files.memory_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # same-tick writes
    assert context.version() != first
