"""What knowing people's languages costs, and how well it guesses. Figures only.

    .venv/bin/python benchmarks/languages.py [--guesses 2000]

Prints: loading the shipped catalogs (time, RSS added); the detector's first guess, which loads
fastText's lid.176 model (time, RSS added); a guess's time afterwards (median, p90); and, for a
set of sample messages, what the detector says and whether `Speakers` would take it (a first
guess for someone new, or a change of a language already known: see jobs.i18n.speakers).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from jobs.i18n.catalogs import Catalogs
from jobs.i18n.detect import FastTextDetector
from jobs.i18n.speakers import CHANGE, CHANGE_LETTERS, FIRST_GUESS, FIRST_LETTERS

SAMPLES: list[tuple[str, str]] = [
    ("ru", "Привет! Подскажи, пожалуйста, что ты умеешь делать?"),
    ("ru", "Можно перенести встречу на завтра после обеда?"),
    ("ru", "да"),
    ("ru", "ок, спасибо"),
    ("uk", "Добрий день! Чи можна домовитися про зустріч у четвер?"),
    ("en", "Hi, could we move the meeting to Thursday afternoon?"),
    ("en", "ok"),
    ("de", "Hallo, können wir das Treffen auf Donnerstag verschieben?"),
    ("fr", "Bonjour, pouvons-nous déplacer la réunion à jeudi après-midi ?"),
    ("es", "Hola, ¿podemos mover la reunión al jueves por la tarde?"),
    ("pt", "Olá, podemos mudar a reunião para quinta-feira à tarde?"),
    ("it", "Ciao, possiamo spostare la riunione a giovedì pomeriggio?"),
    ("tr", "Merhaba, toplantıyı perşembe öğleden sonraya alabilir miyiz?"),
    ("zh", "你好，我们可以把会议改到星期四下午吗？"),
    ("ja", "こんにちは、会議を木曜日の午後に移せますか？"),
    ("ar", "مرحبا، هل يمكننا نقل الاجتماع إلى يوم الخميس بعد الظهر؟"),
    ("ru", "Посмотри https://example.com/report и /help пожалуйста"),
    ("ru", "ПРИВЕТ, ТЫ ЗДЕСЬ? ОТВЕТЬ СРОЧНО"),
]


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guesses", type=int, default=2000)
    args = parser.parse_args()

    before = rss_kb()
    start = time.perf_counter()
    catalogs = Catalogs.shipped()
    loaded = time.perf_counter() - start
    print(
        f"catalogs {', '.join(catalogs.languages)}: loaded in {loaded * 1000:.1f} ms, "
        f"+{(rss_kb() - before) / 1024:.1f} MB RSS"
    )

    detector = FastTextDetector()
    before = rss_kb()
    start = time.perf_counter()
    detector.detect("Hello there, how are you?")
    first = time.perf_counter() - start
    print(
        f"detector: first guess (loads lid.176) {first * 1000:.0f} ms, "
        f"+{(rss_kb() - before) / 1024:.1f} MB RSS"
    )

    times: list[float] = []
    for i in range(args.guesses):
        text = SAMPLES[i % len(SAMPLES)][1]
        start = time.perf_counter()
        detector.detect(text)
        times.append(time.perf_counter() - start)
    times.sort()
    print(
        f"a guess after that: median {statistics.median(times) * 1e6:.0f} µs, "
        f"p90 {times[int(len(times) * 0.9)] * 1e6:.0f} µs ({args.guesses} guesses)"
    )

    print(
        f"\nsamples (taken first: confidence ≥ {FIRST_GUESS} over ≥ {FIRST_LETTERS} letters; "
        "changes a known language: "
        f"≥ {CHANGE} over ≥ {CHANGE_LETTERS} letters)"
    )
    right = 0
    for expected, text in SAMPLES:
        guess = detector.detect(text)
        if guess is None:
            print(f"  {expected}  -            {text[:40]!r}")
            continue
        right += guess.language == expected
        first_ok = guess.confidence >= FIRST_GUESS and guess.letters >= FIRST_LETTERS
        change_ok = guess.confidence >= CHANGE and guess.letters >= CHANGE_LETTERS
        print(
            f"  {expected}  {guess.language:<3} {guess.confidence:.2f} "
            f"{'first' if first_ok else '-    '} {'change' if change_ok else '-     '} "
            f"{text[:40]!r}"
        )
    print(f"right: {right}/{len(SAMPLES)}")


if __name__ == "__main__":
    main()
