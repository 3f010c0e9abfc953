"""What Jobs spends, on a whole Jobs (fake Telegram, the real SDK and CLI on the scripted model,
which reports usage as the API would): a person writing in a loop stops costing at their
budget, the month's cap stops everyone but the owner with one notice each, and /pause holds
every turn the owner did not start — across a restart — until /resume answers them all."""

from __future__ import annotations

from tests.e2e.conftest import OWNER_ID, Jobs, MakeJobs
from tests.fakes.anthropic import Call, Turn, text

ANN, BEN = 111, 112
EXTERNAL_PROMPT = "someone other than the owner"
PERSON_NOTE = "I've done as much as I can for you today"
MONTH_NOTE = "I can't take on any more right now, sorry. Please write again later."


STORY = "Once upon a time " * 12


def story_or_echo(call: Call) -> Turn:
    """A long story told slowly (a turn /pause finds running), an echo otherwise."""
    if "long story" in call.last_user_text:
        return text(STORY, delay=0.15, chunk=12)
    return text("echo: " + call.last_user_text)


def stranger_calls(jobs: Jobs, person: int) -> list[Call]:
    """The model requests made for `person`'s conversation."""
    return [
        call
        for call in jobs.model.calls
        if EXTERNAL_PROMPT in call.system_text
        and any(f"msg {person}-" in said for said in call.user_texts)
    ]


def spent_by(jobs: Jobs, payer: str) -> list[int]:
    """Each turn's tokens (input, cache reads and writes, output) counted against `payer`."""
    rows = jobs.query(
        "SELECT input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS n"
        " FROM usage WHERE payer = ? ORDER BY id",
        (payer,),
    )
    return [row["n"] for row in rows]


async def writes_and_waits(jobs: Jobs, person: int, n: int) -> None:
    """`person` writes message n and waits until Jobs is done with it (answered or not)."""
    jobs.tg.incoming(person, f"msg {person}-{n}: and another thing")
    await jobs.settled()


async def owner_says(jobs: Jobs, text: str) -> str:
    before = len(jobs.sent_texts(OWNER_ID))
    jobs.tg.outgoing(OWNER_ID, text)
    return (await jobs.replies_to(OWNER_ID, before + 1))[before]


async def all_held(jobs: Jobs, count: int) -> None:
    """Until `count` messages wait for /resume (held: pending, never claimed meanwhile)."""
    await jobs.tg.idle(timeout=30)
    await jobs.wait_for(
        lambda: (
            len(jobs.query("SELECT 1 FROM inbox WHERE held IS NOT NULL AND state = 'pending'"))
            == count
        ),
        what=f"{count} messages held",
    )


def owner_notices(jobs: Jobs, marker: str) -> list[str]:
    return [said for said in jobs.sent_texts(OWNER_ID) if marker in said]


async def test_a_person_writing_in_a_loop_stops_costing_at_their_budget(
    make_jobs: MakeJobs,
) -> None:
    budget = 3_000
    jobs = make_jobs(external_users="all", budget_person_daily=f"{budget} tokens")
    jobs.tg.add_user(ANN, "Ann", username="ann")
    await jobs.start()
    for n in range(12):
        await writes_and_waits(jobs, ANN, n)

    turns = spent_by(jobs, f"person:{ANN}")
    answered = len(turns)
    # Every turn but the last started under the budget; the last one reached it; after it,
    # no message of Ann's reached the model at all.
    assert 1 < answered < 12, turns
    assert sum(turns[:-1]) < budget <= sum(turns)
    assert len(stranger_calls(jobs, ANN)) == answered
    said = jobs.sent_texts(ANN)
    assert len(said) == answered + 1  # the answers, then one polite note
    assert said[-1].startswith(PERSON_NOTE) and "token" not in said[-1]
    states = [row["state"] for row in jobs.inbox(ANN)]
    assert states == ["answered"] * answered + ["ignored"] * (12 - answered)
    [told] = owner_notices(jobs, "reached their daily budget")
    assert told.startswith("💸 Ann (@ann) reached their daily budget:")
    assert f"/budget person {ANN} 10k tokens raises it." in told

    # The owner raises it: Ann is answered again (and the owner could be told again at the
    # new limit, once).
    raised = await owner_says(jobs, f"/budget person {ANN} 1M tokens")
    assert raised.startswith("Done: Ann (@ann): 1M tokens a day. Spent today: "), raised
    await writes_and_waits(jobs, ANN, 12)
    assert len(stranger_calls(jobs, ANN)) == answered + 1
    assert jobs.sent_texts(ANN)[-1].endswith("and another thing")


async def test_the_months_cap_stops_all_but_the_owner_with_one_notice_each(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all", budget_monthly="1k tokens")
    jobs.tg.add_user(ANN, "Ann", username="ann")
    jobs.tg.add_user(BEN, "Ben")
    await jobs.start()
    first = await owner_says(jobs, "what is on today?")  # spends past the cap: the owner's go on
    assert first.endswith("what is on today?")
    # The turn's cost is written when the turn ends, a moment after its reply shows: until
    # then a turn could start (what one turn can overshoot a budget by).
    await jobs.settled()
    await jobs.wait_for(
        lambda: jobs.query("SELECT 1 FROM usage WHERE payer = 'owner'"), what="the turn's cost"
    )
    calls = len(jobs.model.calls)
    for n in range(3):
        await writes_and_waits(jobs, ANN, n)
        await writes_and_waits(jobs, BEN, n)
    assert len(jobs.model.calls) == calls  # nobody else reached the model
    assert jobs.sent_texts(ANN) == [MONTH_NOTE]
    assert jobs.sent_texts(BEN) == [MONTH_NOTE]
    [told] = owner_notices(jobs, "This month's cap is reached")
    assert "only your own messages are answered" in told and "/budget month" in told
    again = await owner_says(jobs, "and tomorrow?")
    assert again.endswith("and tomorrow?") and len(jobs.model.calls) == calls + 1
    usage = await owner_says(jobs, "/usage")
    assert "• you: " in usage
    await jobs.settled()
    assert len(owner_notices(jobs, "This month's cap is reached")) == 1


async def test_pause_holds_everything_and_resume_answers_it_all_across_a_restart(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(ANN, "Ann", username="ann")
    jobs.tg.add_user(BEN, "Ben")
    jobs.model.default = story_or_echo
    await jobs.start()
    jobs.tg.incoming(BEN, f"msg {BEN}-0: tell me a long story")
    await jobs.wait_for(lambda: stranger_calls(jobs, BEN), what="Ben's story begun")
    paused = await owner_says(jobs, "/pause")
    assert paused.startswith("Paused. I stopped 1 running turn;"), paused
    assert "your own messages go on" in paused
    for n in range(2):
        jobs.tg.incoming(ANN, f"msg {ANN}-{n}: are you there?")
    jobs.tg.incoming(BEN, f"msg {BEN}-1: hello?")
    await all_held(jobs, 4)
    assert len(stranger_calls(jobs, BEN)) == 1  # the story, stopped
    assert not stranger_calls(jobs, ANN)
    assert not jobs.sent_texts(ANN) and not jobs.sent_texts(BEN)  # held, nothing said
    assert (await owner_says(jobs, "still answering me?")).endswith("still answering me?")
    assert "Paused" in await owner_says(jobs, "/status")

    await jobs.restart()  # the switch and the held messages are in the database
    jobs.tg.incoming(ANN, f"msg {ANN}-2: after the restart")
    await all_held(jobs, 5)
    assert not stranger_calls(jobs, ANN) and not jobs.sent_texts(ANN)

    resumed = await owner_says(jobs, "/resume")
    assert resumed.startswith("Resumed: 5 held messages"), resumed
    await jobs.wait_for(
        lambda: all(row["state"] == "answered" for row in jobs.inbox(ANN) + jobs.inbox(BEN)),
        what="every held message answered",
    )
    await jobs.settled()
    assert any(STORY.strip() in said for said in jobs.sent_texts(BEN)), jobs.sent_texts(BEN)
    for person, count in ((ANN, 3), (BEN, 2)):
        asked = [text for call in stranger_calls(jobs, person) for text in call.user_texts]
        for n in range(count):
            assert sum(f"msg {person}-{n}:" in text for text in asked) >= 1, (person, n)
        assert jobs.sent_texts(person)  # answered, in as many replies as turns ran
    assert await owner_says(jobs, "/resume") == "Nothing is paused."


async def test_each_role_runs_its_model_and_the_owner_chooses_them(make_jobs: MakeJobs) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(ANN, "Ann", username="ann")
    await jobs.start()
    await owner_says(jobs, "hello")
    await writes_and_waits(jobs, ANN, 0)
    owner_call, ann_call = jobs.model.calls[-2:]
    assert "haiku" in ann_call.body["model"]  # a cheaper model for other people by default
    assert "haiku" not in owner_call.body["model"]
    status = await owner_says(jobs, "/status")
    assert "Models: you default, people haiku, tasks default, channels haiku (/model)" in status

    chosen = await owner_says(jobs, "/model people sonnet haiku")
    assert chosen.startswith("Done: other people's conversations run on sonnet, falling back")
    await writes_and_waits(jobs, ANN, 1)
    assert "sonnet" in jobs.model.calls[-1].body["model"]
    assert stranger_calls(jobs, ANN)[-1] is jobs.model.calls[-1]
    for bad, said in [
        ("/model people gpt-5", "'gpt-5' is not a model I know"),
        ("/model cats haiku", "Whose model is cats?"),
        ("/model owner opus opus", "the fallback must be another model"),
    ]:
        answer = await owner_says(jobs, bad)
        assert answer.startswith(said) or said in answer, answer
        assert "How to choose a model" in answer
    models = await owner_says(jobs, "/model")
    assert "• other people's conversations: sonnet, falling back to haiku\n" in models
    assert "• your conversation: Claude Code's default (the setting)" in models
    await jobs.restart()  # the choice is kept
    assert "people sonnet (→ haiku)" in await owner_says(jobs, "/status")
    assert "(the setting)" in await owner_says(jobs, "/model people default")
    await writes_and_waits(jobs, ANN, 2)
    assert "haiku" in jobs.model.calls[-1].body["model"]


async def test_budget_answers_every_malformed_one_with_how_to_write_it(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(external_users="all")
    jobs.tg.add_user(ANN, "Ann", username="ann")
    await jobs.start()
    await writes_and_waits(jobs, ANN, 0)
    # Her turn's cost is written a moment after her reply shows (the session settles).
    await jobs.wait_for(lambda: spent_by(jobs, f"person:{ANN}"), what="Ann's turn's cost")
    standing = await owner_says(jobs, "/budget")
    assert standing.startswith("Budgets, and what was spent against them:\n• your own messages:")
    assert "• each other person: $0.50 a day\n   - Ann (@ann): $0." in standing
    for bad, said in [
        ("/budget people 5", "5 of what? Write $5 for dollars or 5 tokens for tokens"),
        ("/budget person @nobody $1", "I don't know anyone called @nobody yet."),
        ("/budget task 99 $1", "There is no task 99: /tasks lists them."),
        ("/budget galaxy $1", "Which budget is galaxy?"),
        ("/budget month", "How much? Add an amount, off or default."),
        ("/budget people $9999999", "more than I take as a budget"),
    ]:
        answer = await owner_says(jobs, bad)
        assert said in answer and "How to set a budget" in answer, answer
    assert (await owner_says(jobs, "/budget month $30")).startswith(
        "Done: the month: $30.00 a month. Spent this month: $0."
    )
    assert "(the setting's)" in await owner_says(jobs, "/budget month default")
    assert len(jobs.model.calls) == 1  # none of it asked the model


async def test_budgets_speak_the_owners_and_the_writers_language(make_jobs: MakeJobs) -> None:
    """The owner with OWNER_LANGUAGE=ru: /budget, /model, /pause, /resume and the month's
    notice in Russian, arguments as typed; a stranger writing Russian gets the note in Russian."""
    jobs = make_jobs(external_users="all", budget_monthly="1k tokens", owner_language="ru")
    jobs.tg.add_user(ANN, "Ann", username="ann")
    await jobs.start()
    set_people = await owner_says(jobs, "/budget people $1")
    assert set_people == "Готово: каждый другой человек: $1.00 в день. Потрачено сегодня: $0.00."
    wrong = await owner_says(jobs, "/budget people 5")
    assert wrong.startswith("5 чего? Напишите $5 для долларов или 5 tokens для токенов.\n\n")
    assert "/budget people $0.50 — каждый человек, кроме вас" in wrong
    assert (await owner_says(jobs, "/model")).startswith("Модели:\n• ваш разговор: ")
    assert (await owner_says(jobs, "/pause")).startswith("Пауза. Сообщения от других людей")
    assert (await owner_says(jobs, "/resume")).startswith(
        "Возобновлено: 0 задержанных сообщений и 0 задержанных триггеров продолжаются сейчас"
    )
    await owner_says(jobs, "what is on today?")  # spends past the month's cap
    await jobs.settled()
    jobs.tg.incoming(ANN, "Привет! Подскажи, пожалуйста, что ты умеешь делать?")
    [note] = await jobs.replies_to(ANN)
    assert note == "Извините, сейчас я больше не могу ничего взять. Пожалуйста, напишите позже."
    [told] = owner_notices(jobs, "Месячный лимит достигнут")
    assert told.endswith("\n/budget month 10k tokens поднимет его."), told
