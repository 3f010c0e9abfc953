from __future__ import annotations

from jobs.memory.chunking import MAX_CHARS, Chunk, chunk_markdown

TEXT = """# Memory

## People
- Anna (wife): birthday May 3
  loves tulips
- Bob: allergic to peanuts

### Family
- Mum lives in Lyon

## Empty

## Work
Project Zephyr is due on Friday.
"""


def lines_of(text: str, chunk: Chunk) -> str:
    return "\n".join(text.splitlines()[chunk.start_line - 1 : chunk.end_line])


def test_chunks_cite_their_lines_under_their_heading() -> None:
    chunks = chunk_markdown(TEXT)
    assert [(c.start_line, c.end_line, c.heading) for c in chunks] == [
        (3, 6, "Memory / People"),
        (8, 9, "Memory / People / Family"),
        (13, 14, "Memory / Work"),
    ]
    for chunk in chunks:
        assert lines_of(TEXT, chunk) == chunk.text  # a title alone, or "## Empty", is no chunk
    assert chunks[0].embedding_text.startswith("Memory / People\n## People")


def test_small_target_splits_between_entries_not_inside() -> None:
    chunks = chunk_markdown(TEXT, target=40)
    people = [c for c in chunks if c.heading == "Memory / People"]
    assert [(c.start_line, c.end_line) for c in people] == [(3, 5), (6, 6)]


def test_append_changes_only_the_last_chunk() -> None:
    log = "# 2026-11-27\n\n" + "".join(f"- 09:{i:02d} did thing number {i}\n" for i in range(60))
    before = chunk_markdown(log)
    after = chunk_markdown(log + "- 10:00 one more thing\n")
    assert len(before) > 2
    assert [c.hash for c in after[:-1]] == [c.hash for c in before[:-1]]
    assert after[-1].hash != before[-1].hash


def test_edit_in_one_section_keeps_other_sections_hashes() -> None:
    edited = TEXT.replace("Zephyr is due on Friday", "Zephyr is due on Monday")
    old, new = chunk_markdown(TEXT), chunk_markdown(edited)
    assert [c.hash for c in old[:2]] == [c.hash for c in new[:2]]
    assert old[2].hash != new[2].hash


def test_an_overlong_line_is_split_and_keeps_its_line_number() -> None:
    text = "## Notes\n" + "x" * (MAX_CHARS * 2 + 10) + "\nafter\n"
    chunks = chunk_markdown(text)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert {(c.start_line, c.end_line) for c in chunks[1:-1]} == {(2, 2)}
    assert "".join(c.text for c in chunks).count("x") == MAX_CHARS * 2 + 10
