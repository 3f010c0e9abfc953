"""The first run's questions in the owner's language (OWNER_LANGUAGE or the terminal's)."""

from __future__ import annotations

from jobs.i18n.catalogs import Catalogs, terminal_words
from jobs.i18n.translator import Translator
from jobs.questions import Check
from jobs.setup import _own_account, yes_no
from jobs.telegram.login import code_shape, phone_shape

RU = Catalogs.shipped().translator("ru")


class Scripted:
    """Questions answered from a list; what was asked and told is kept."""

    def __init__(self, words: Translator, answers: list[str]) -> None:
        self.words = words
        self.answers = answers
        self.asked: list[str] = []
        self.told: list[str] = []

    async def ask(self, question: str, *, check: Check | None = None, secret: bool = False) -> str:
        self.asked.append(question)
        while True:
            answer = self.answers.pop(0)
            problem = check(answer) if check else None
            if problem is None:
                return answer
            self.told.append(problem)

    def tell(self, text: str) -> None:
        self.told.append(text)


async def test_the_owner_is_asked_and_answers_in_russian():
    questions = Scripted(RU, ["может быть", "д"])
    assert await _own_account(questions) is True
    assert questions.asked[0].startswith("Это ваш собственный аккаунт Telegram?")
    assert questions.told == ["Ответьте «д» или «н»."]
    assert await _own_account(Scripted(RU, ["n"])) is False  # English answers still count


def test_answers_are_checked_in_the_terminals_language():
    words = terminal_words(None, {"LANG": "ru_RU.UTF-8"})
    assert phone_shape("12", words) == (
        "Это не номер телефона: введите его с кодом страны, например +7 912 345 67 89."
    )
    assert code_shape("12345", words) is None
    assert yes_no("да", words) is None
    assert terminal_words(None, {"LANG": "C.UTF-8"}).language == "en"
