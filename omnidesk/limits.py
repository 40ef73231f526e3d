"""Bounds on numbers that come from outside (the command line, the query language).

SQLite's INTEGER is 64-bit signed: a larger Python int cannot even be bound as a
parameter, so every typed id is checked against MAX_ID before it gets near the store.
"""

#: The largest id SQLite's INTEGER holds: no row has a larger one.
MAX_ID = 2**63 - 1
#: The most rows one `--limit` may ask for (`list --all` has no limit).
MAX_LIMIT = 1_000_000


def id_value(text: str) -> int | None:
    """ASCII digits as an id from 1 to MAX_ID; None for anything else (never an error)."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = text.lstrip("0")  # int() refuses thousands of digits, even zeros
    if not number or len(number) > len(str(MAX_ID)) or int(number) > MAX_ID:
        return None
    return int(number)
