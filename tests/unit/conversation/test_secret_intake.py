"""SecretIntake: what it takes from the owner's messages (never stored) and what it lets by."""

from __future__ import annotations

from pathlib import Path

from jobs.conversation.secret_intake import SecretIntake
from jobs.extensions.secret_store import SecretStore
from jobs.messages import InboundMessage
from jobs.redaction import KnownSecrets
from jobs.storage import Database, OutboxRepo
from tests.fakes.clock import FakeClock

OWNER = 1000
VALUE = "v4lue-0123456789"


class Eraser:
    def __init__(self, *, works: bool = True) -> None:
        self.erased: list[tuple[int, int]] = []
        self.works = works

    async def erase(self, chat_id: int, msg_id: int, /) -> bool:
        self.erased.append((chat_id, msg_id))
        return self.works


def message(text: str, msg_id: int, sender: int = OWNER) -> InboundMessage:
    return InboundMessage(chat_id=sender, msg_id=msg_id, sender_id=sender, text=text)


async def told(db: Database) -> list[str]:
    rows = await db.fetch_all("SELECT text FROM outbox ORDER BY id")
    return [row["text"] for row in rows]


async def test_what_is_taken_and_what_passes(
    db: Database, tmp_path: Path, clock: FakeClock
) -> None:
    store = SecretStore(path=tmp_path / "secrets.json", known=KnownSecrets())
    eraser = Eraser(works=False)
    intake = SecretIntake(
        store=store,
        owner_id=OWNER,
        outbox=OutboxRepo(db),
        clock=clock,
        eraser=eraser,
    )
    passed: list[str] = []

    async def submit(m: InboundMessage) -> bool:
        passed.append(m.text)
        return True

    take = intake.wrap(submit)
    await take(message(f"/secret API_KEY {VALUE}", 1))  # name and value at once
    assert store.values() == {"API_KEY": VALUE} and eraser.erased == [(OWNER, 1)]
    assert "I could not delete your message: please delete it yourself." in (await told(db))[-1]

    await take(message("/secret OTHER_KEY", 2))
    await take(message("/stop", 3))  # a command ends the wait and is handled as usual
    await take(message(VALUE + "-2", 4))  # so this is an ordinary message again
    await take(message(f"/secret {VALUE}", 5, sender=77))  # not the owner: the usual way
    assert passed == ["/stop", VALUE + "-2", f"/secret {VALUE}"]
    assert "OTHER_KEY" not in store
    await take(message("/secret lowercase", 6))
    assert (await told(db))[-1].startswith("'lowercase' is not a secret name")
    assert VALUE not in "".join(await told(db))
