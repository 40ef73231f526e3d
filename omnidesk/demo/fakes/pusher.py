"""Pushing to a subscriber's URL as hosted services do: each delivery retried until it is answered 2xx.

    pusher = Pusher(headers=lambda body, attempt: {...}, retry_seconds=0.2)
    pusher.start("http://127.0.0.1:8787/hooks/team")
    pusher.push("Ev0001", body)         # delivered by the pusher's thread
    pusher.wait_idle(timeout=10)        # every push answered 2xx (or given up)

Slack's Events API and Telegram's webhooks both treat anything but a 2xx answer in
time (a 5xx, a refused or reset connection, a timeout) as not delivered and send the
same payload again later: Slack up to `max_attempts` times and not necessarily in
order; Telegram in order (`in_order`: the oldest update is retried before any newer
one goes). Every attempt is recorded in `deliveries`, so a test can tell that a request
was cut off (status None) and re-sent.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

# Straight to the subscriber: an http_proxy in the environment must not carry loopback pushes.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Delivery:
    """One attempt: what was sent and how it was answered (status None: no answer at all)."""

    key: str
    attempt: int  # 0 for the first, 1.. for retries
    status: int | None
    error: str = ""


@dataclass
class _Item:
    key: str
    body: bytes
    attempts: int = 0
    due: float = 0.0
    sending: bool = False


class Pusher:
    """A thread delivering pushed payloads to one URL, retrying those not acknowledged."""

    def __init__(self, headers: Callable[[bytes, int], dict[str, str]], *, retry_seconds: float = 0.2,
                 max_attempts: int = 0, timeout: float = 3.0, in_order: bool = False,
                 on_acknowledged: Callable[[str], None] | None = None) -> None:
        self.headers = headers
        self.retry_seconds = retry_seconds
        self.max_attempts = max_attempts  # 0: retry for as long as the pusher runs
        self.timeout = timeout
        self.in_order = in_order
        self.on_acknowledged = on_acknowledged
        self.url = ""
        self.deliveries: list[Delivery] = []
        self.given_up: list[str] = []
        self._queue: list[_Item] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self, url: str) -> None:
        with self._cond:
            self.url = url
            self._closed = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fake-pusher", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop pushing; payloads not delivered are dropped from this pusher (their owner may keep them)."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.timeout + 1)

    def push(self, key: str, body: bytes) -> None:
        with self._cond:
            self._queue.append(_Item(key, body))
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        with self._cond:
            return sum(1 for i in self._queue if i.sending)

    def last_error(self) -> str:
        with self._cond:
            failed = [d for d in self.deliveries if d.status is None or not 200 <= d.status < 300]
            return failed[-1].error if failed else ""

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every payload pushed so far was acknowledged or given up; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._queue)} push(es) not acknowledged after {timeout} s")
                self._cond.wait(min(left, 0.05))

    def _next(self) -> _Item | None:
        """The item to send now, waiting until one is due; None once stopped."""
        while not self._closed:
            candidates = self._queue[:1] if self.in_order else self._queue
            now = time.monotonic()
            ready = [i for i in candidates if not i.sending and i.due <= now]
            if ready and self.url:
                item = min(ready, key=lambda i: i.due)
                item.sending = True
                return item
            waits = [i.due - now for i in candidates if not i.sending]
            self._cond.wait(max(0.005, min(waits)) if waits and self.url else 0.2)
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                item = self._next()
                if item is None:
                    return
                url, attempt = self.url, item.attempts
            status, error = self._post(url, item.body, self.headers(item.body, attempt))
            with self._cond:
                item.sending = False
                self.deliveries.append(Delivery(item.key, attempt, status, error))
                done = status is not None and 200 <= status < 300
                item.attempts += 1
                if not done and self.max_attempts and item.attempts >= self.max_attempts:
                    self.given_up.append(item.key)
                    done = True
                if done:
                    if item in self._queue:
                        self._queue.remove(item)
                else:
                    item.due = time.monotonic() + self.retry_seconds
                self._cond.notify_all()
            if status is not None and 200 <= status < 300 and self.on_acknowledged is not None:
                self.on_acknowledged(item.key)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                response.read()
                return int(response.status), ""
        except urllib.error.HTTPError as exc:
            return int(exc.code), f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # refused, reset, timed out, or a daemon killed mid-request
            return None, f"{type(exc).__name__}: {exc}"
