from pathlib import Path

from jobs.config import load_settings
from jobs.doctor import Status, check_memory_vectors


async def test_memory_vectors_off_without_a_provider(tmp_path: Path) -> None:
    check = await check_memory_vectors(load_settings(None, data_dir=tmp_path))
    assert check.status is Status.OPTIONAL and "vectors are off" in check.detail


async def test_memory_vectors_on_with_a_local_server(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path, openai_base_url="http://127.0.0.1:11434/v1")
    check = await check_memory_vectors(settings)
    assert check.status is Status.OK and "127.0.0.1:11434" in check.detail
