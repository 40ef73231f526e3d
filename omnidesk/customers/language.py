"""Which language a text is in: py3langid (langid.py's model, shipped in the wheel), loaded lazily.

The model (142 languages, ISO 639-1 codes where there is one) is read on the first
detection in a process, so a CLI command that never detects never does. The wheel
keeps it LZMA-compressed (68 MB of arrays, 1.2 s to unpack); the first process to use
a version unpacks it once into the user's cache directory (`$XDG_CACHE_HOME/omnidesk`),
and every later one maps those files (about 50 ms, and the pages are shared by the
parser workers). Nothing is downloaded. docs/architecture.md compares the detectors.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

#: Normalised probability from which a detection is stored on the message.
SHOWN = 0.5
#: ... and from which it becomes the customer's language (unless one was set by hand).
CONFIDENT = 0.7
#: Only the start of a long text is read: the language does not change, the cost would.
MAX_CHARS = 100
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
        from py3langid.langid import LanguageIdentifier

        ptc, pc, classes, nextmove, row, output = _unpacked()
        _identifier = LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
    return _identifier


#: The model's parts as files: (name, kind) in py3langid's load order.
_PARTS = (("ptc", "npy"), ("pc", "npy"), ("classes", "json"), ("nextmove", "array"), ("row", "array"),
          ("output", "json"))


def _cache_dir() -> Path:
    import platformdirs
    import py3langid

    return Path(platformdirs.user_cache_dir("omnidesk")) / f"py3langid-{py3langid.__version__}"


def _unpacked() -> tuple[Any, ...]:
    """The model's arrays: mapped from the cache, else unpacked from the wheel (and cached)."""
    directory = _cache_dir()
    with contextlib.suppress(OSError, ValueError, EOFError):
        return _read(directory)
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    parts = load_model(MODEL_DIR / MODEL_FILE)
    with contextlib.suppress(OSError):  # a read-only home: detect all the same, unpacking every time
        _write(directory, parts)
    return tuple(parts)


def _read(directory: Path) -> tuple[Any, ...]:
    from array import array

    import numpy as np

    out: list[Any] = []
    for name, kind in _PARTS:
        path = directory / f"{name}.{'json' if kind == 'json' else 'npy'}"
        if kind == "json":
            out.append(json.loads(path.read_text("utf-8")))
        elif kind == "npy":
            out.append(np.load(path, mmap_mode="r"))
        else:  # py3langid walks these from Python: a stdlib array, as it builds them
            values = np.load(path, mmap_mode="r")
            out.append(array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize], values.tobytes()))
    return tuple(out)


def _write(directory: Path, parts: Any) -> None:
    """Every part into a fresh directory, renamed into place whole (a concurrent writer loses)."""
    import numpy as np

    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".py3langid-", dir=directory.parent))
    for (name, kind), value in zip(_PARTS, parts, strict=True):
        if kind == "json":
            (scratch / f"{name}.json").write_text(json.dumps(list(value)), "utf-8")
        else:
            data = value if kind == "npy" else np.frombuffer(value, dtype=f"u{value.itemsize}")
            np.save(scratch / f"{name}.npy", data)
    try:
        os.rename(scratch, directory)
    except OSError:  # another process was first
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


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
