from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs.errors import ExtensionError
from jobs.extensions.bundled import find_bundled_skills, sync_bundled_skills
from jobs.extensions.skills import MAX_SKILL_BYTES, SkillStore, parse_skill, skills_dir

REPO_SKILLS = Path(__file__).resolve().parents[3] / "skills"
VALID = "---\nname: my-skill\ndescription: Does a thing. Use when asked.\n---\n\n# Steps\n1. Go.\n"


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    folder = tmp_path / "bundled" / "builtin-one"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(VALID.replace("my-skill", "builtin-one"))
    (folder / "notes.md").write_text("extra")
    return folder.parent


@pytest.fixture
def store(tmp_path: Path, bundled: Path) -> SkillStore:
    sync_bundled_skills(workspace=tmp_path / "ws", bundled=bundled)
    return SkillStore(workspace=tmp_path / "ws", bundled=bundled)


def test_every_bundled_skill_is_valid_and_found() -> None:
    assert find_bundled_skills() == REPO_SKILLS
    names = {p.parent.name for p in REPO_SKILLS.glob("*/SKILL.md")}
    assert {"schedule-meeting", "telegram-digest", "create-skill"} <= names
    for name in names:
        skill = parse_skill((REPO_SKILLS / name / "SKILL.md").read_text(), folder=name)
        assert skill.description and skill.body
    meeting = parse_skill((REPO_SKILLS / "schedule-meeting" / "SKILL.md").read_text())
    assert {"create_task", "send_to_user", "update_task", "list_tasks"} <= set(meeting.tools)


def test_parse_keeps_unknown_keys_and_body() -> None:
    skill = parse_skill(VALID.replace("---\n\n", "allowed-tools: Read\n---\n\n"))
    assert skill.extra == {"allowed-tools": "Read"}
    assert skill.body.startswith("# Steps")
    assert parse_skill(skill.render()) == skill


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter", "must start with YAML front matter"),
        ("---\nname: [unclosed\n---\nbody", "not valid YAML"),
        ("---\n- a list\n---\nbody", "must be a mapping"),
        ("---\nname: Bad_Name\ndescription: x\n---\nb", "not a valid skill name"),
        ("---\nname: ok\ndescription: '  '\n---\nb", "say what the skill does"),
        ("---\nname: ok\n---\nb", "description: Field required"),
        ("---\nname: ok\ndescription: " + "x" * 1100 + "\n---\nb", "at most 1024"),
        ("---\nname: ok\ndescription: d\ntools: ['rm -rf /']\n---\nb", "not tool names"),
        (VALID + "x" * MAX_SKILL_BYTES, "larger than 32 KB"),
    ],
)
def test_parse_refuses_bad_skills(text: str, message: str) -> None:
    with pytest.raises(ExtensionError, match=message):
        parse_skill(text)


def test_name_must_match_folder() -> None:
    with pytest.raises(ExtensionError, match="the folder is 'other'"):
        parse_skill(VALID, folder="other")


def test_create_show_edit_delete(store: SkillStore) -> None:
    store.create(
        "weekly-report", description="Write the report. Use when asked.", instructions="1. a"
    )
    text, others = store.show("weekly-report")
    assert "name: weekly-report" in text and others == []
    edited = store.edit("weekly-report", instructions="1. b", tools=("remember",))
    assert edited.description == "Write the report. Use when asked."
    assert store.read("weekly-report").body == "1. b"
    assert store.read("weekly-report").tools == ("remember",)
    assert [i.name for i in store.entries()] == ["builtin-one", "weekly-report"]
    store.delete("weekly-report")
    assert not (store.folder / "weekly-report").exists()
    assert store.revision == 3


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "UPPER", "", "x" * 65, "a--b"])
def test_names_never_escape_the_folder(store: SkillStore, name: str) -> None:
    with pytest.raises(ExtensionError, match="skill name"):
        store.create(name, description="d", instructions="i")
    assert sorted(p.name for p in store.folder.parent.parent.iterdir()) == [".claude"]


def test_a_planted_link_is_not_followed(store: SkillStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "SKILL.md").write_text(VALID.replace("my-skill", "linked"))
    (store.folder / "linked").symlink_to(outside)
    with pytest.raises(ExtensionError, match="is a link"):
        store.delete("linked")
    assert (outside / "SKILL.md").exists()


def test_bundled_skills_are_protected(store: SkillStore) -> None:
    for action in (
        lambda: store.edit("builtin-one", description="hijacked"),
        lambda: store.delete("builtin-one"),
    ):
        with pytest.raises(ExtensionError, match="bundled with Jobs"):
            action()
    with pytest.raises(ExtensionError, match="bundled skill's name"):
        store.create("builtin-one", description="d", instructions="i")
    assert next(i for i in store.entries() if i.name == "builtin-one").bundled


def test_create_refuses_duplicates_and_bad_fields(store: SkillStore) -> None:
    store.create("dup", description="d", instructions="i")
    with pytest.raises(ExtensionError, match="exists; use skill_edit"):
        store.create("dup", description="d", instructions="i")
    with pytest.raises(ExtensionError, match="instructions"):
        store.create("empty", description="d", instructions="  ")
    with pytest.raises(ExtensionError, match="1024"):
        store.create("long", description="x" * 2000, instructions="i")
    with pytest.raises(ExtensionError, match="larger than 32 KB"):
        store.create("huge", description="d", instructions="x" * MAX_SKILL_BYTES)
    assert not (store.folder / "long").exists() and not (store.folder / "huge").exists()
    with pytest.raises(ExtensionError, match="no skill named 'nope'"):
        store.show("nope")


def test_invalid_skill_folders_are_listed_with_the_reason(store: SkillStore) -> None:
    (store.folder / "broken").mkdir()
    (store.folder / "broken" / "SKILL.md").write_text("no front matter")
    broken = next(i for i in store.entries() if i.name == "broken")
    assert broken.problem is not None and "front matter" in broken.problem


def test_sync_installs_restores_and_leaves_owner_skills(tmp_path: Path, bundled: Path) -> None:
    ws = tmp_path / "ws2"
    first = sync_bundled_skills(workspace=ws, bundled=bundled)
    assert first.installed == ("builtin-one",)
    target = skills_dir(ws) / "builtin-one"
    (target / "SKILL.md").write_text(VALID.replace("my-skill", "builtin-one") + "tampered")
    (target / "notes.md").unlink()
    (skills_dir(ws) / "mine").mkdir()
    (skills_dir(ws) / "mine" / "SKILL.md").write_text(VALID.replace("my-skill", "mine"))
    second = sync_bundled_skills(workspace=ws, bundled=bundled)
    assert second.restored == ("builtin-one",)
    assert (target / "SKILL.md").read_text() == (bundled / "builtin-one" / "SKILL.md").read_text()
    assert (target / "notes.md").read_text() == "extra"
    assert (skills_dir(ws) / "mine" / "SKILL.md").exists()
    assert sync_bundled_skills(workspace=ws, bundled=bundled).unchanged == ("builtin-one",)
    shutil.rmtree(target)
    assert sync_bundled_skills(workspace=ws, bundled=bundled).installed == ("builtin-one",)


def test_sync_skips_an_invalid_bundled_skill(tmp_path: Path, bundled: Path) -> None:
    (bundled / "bad").mkdir()
    (bundled / "bad" / "SKILL.md").write_text("nothing")
    report = sync_bundled_skills(workspace=tmp_path / "ws3", bundled=bundled)
    assert report.invalid == ("bad",)
    assert not (skills_dir(tmp_path / "ws3") / "bad").exists()


def test_sync_of_the_repository_skills(tmp_path: Path) -> None:
    report = sync_bundled_skills(workspace=tmp_path / "ws4")
    assert "schedule-meeting" in report.installed and not report.invalid
