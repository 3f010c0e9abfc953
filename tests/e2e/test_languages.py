"""Languages through the whole of `jobs run`: a stranger writing Russian is answered in Russian
(/help, an unknown command, the outage notice), the model is told their language; the owner
with OWNER_LANGUAGE=ru gets Russian approval questions whose exact action stays preformatted,
untranslated and whole."""

from __future__ import annotations

import re
from collections.abc import Callable

from telethon.tl import types

from tests.e2e.conftest import FAST_ENV, OWNER_ID, Jobs, MakeJobs
from tests.e2e.test_approval_messages import FORGED, ask_about
from tests.e2e.test_delegation import make as make  # the fixture, shared
from tests.e2e.test_delegation import start_meeting_task
from tests.fakes.anthropic import Call, Turn, error, text
from tests.fakes.tl import entity_spans

ANNA = 3100
HELLO = "Привет! Подскажи, пожалуйста, что ты умеешь делать?"


async def test_a_stranger_writing_russian_gets_russian_help_and_notices(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all", env=FAST_ENV, model_retry_seconds=0.5)
    down = [False]

    def model(call: Call) -> Turn:
        return error(529) if down[0] else text("Я умею помогать с задачами.")

    jobs.model.default = model
    await jobs.start()
    jobs.tg.incoming(ANNA, HELLO)
    assert await jobs.replies_to(ANNA) == ["Я умею помогать с задачами."]
    [asked] = jobs.calls_with("Подскажи")
    assert "ru" in _language_note(asked)  # the model knows which language its frames are in

    jobs.tg.incoming(ANNA, "/help")
    jobs.tg.incoming(ANNA, "/frobnicate")
    _, help_text, unknown = await jobs.replies_to(ANNA, 3)
    assert help_text.startswith("Команды:\n/help — этот список")
    assert "/clear — забыть этот разговор и начать заново" in help_text
    assert "/language [code] — показать или сменить язык" in help_text  # names stay English
    assert "/stop" not in help_text and "/allow" not in help_text
    assert unknown == (
        "Я не знаю команды /frobnicate. Отправьте /help, чтобы увидеть, что я понимаю."
    )

    down[0] = True
    jobs.tg.incoming(ANNA, "Ты здесь? Ответь, когда сможешь.")
    notice = (await jobs.replies_to(ANNA, 4))[3]
    assert notice == (
        "Сейчас я не могу связаться с сервисом ИИ. "
        "Ваше сообщение сохранено, я отвечу, как только он снова заработает."
    )
    down[0] = False
    assert (await jobs.replies_to(ANNA, 5))[4] == "Я умею помогать с задачами."
    await jobs.settled()
    [row] = jobs.query("SELECT code, set_by FROM languages WHERE user_id = ?", (ANNA,))
    assert (row["code"], row["set_by"]) == ("ru", "detected")


async def test_the_owner_with_russian_gets_russian_approval_questions(
    make: Callable[..., Jobs],
) -> None:
    jobs = make(owner_language="ru")
    await jobs.start()
    await start_meeting_task(jobs, grants=("bash",))  # a shell only when the owner grants it
    await ask_about(jobs, FORGED)
    await jobs.replies_to(OWNER_ID, 2)
    question = jobs.delivered(OWNER_ID)[1]
    found = re.search(r"Нужно разрешение \((\w+)\)", question.message)
    assert found is not None, question.message
    code = found.group(1)
    # Jobs' words are Russian; the exact action is one pre entity, byte for byte as asked.
    assert entity_spans(question) == [
        (types.MessageEntityBold, f"🔐 Нужно разрешение ({code})"),
        (types.MessageEntityPre, FORGED),
    ]
    assert "\nХочет выполнить Bash, ровно это:\n" in question.message
    assert f"/approve_{code} — разрешить один раз" in question.message
    jobs.tg.outgoing(OWNER_ID, "нет", reply_to=question.id)  # a Russian "no" answers it
    assert (await jobs.replies_to(OWNER_ID, 3))[2] == (f"Запрещено: Bash не выполнится ({code}).")
    await jobs.settled()


def _language_note(call: Call) -> str:
    """The line that tells the model the person's language (in the turn's own text)."""
    notes = [line for line in call.last_user_text.splitlines() if "language" in line.lower()]
    assert notes, call.last_user_text
    return notes[-1]
