"""What every fake hosted API has in common: a JSON-over-HTTP server on loopback.

A fake runs `http.server.ThreadingHTTPServer` in a thread of its own, so sync and async
tests, a separate `omnidesk sync` process and the `omnidesk demo` desk all reach it over
real HTTP. Subclasses
route requests in `handle`; this module parses the three ways APIs take parameters
(query string, form body, JSON body), records every request, and lets a test inject
faults the way the real service shows them:

    with FakeSlack() as slack:
        slack.fail("conversations.history", status=429, headers={"Retry-After": "1"})
        ...

A fault is matched by the route key the subclass computes for a request (the API
method's name) and consumed once per matching request, `times` times.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

MAX_BODY = 8 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    """One request as the fake received it."""

    verb: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    query: str = ""  # as sent: repeated keys (`types[]=a&types[]=b`) collapse in `params`

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    """What a route answers: a status, a JSON-able body or raw bytes, extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode()


@dataclass
class _Fault:
    key: str
    response: Response
    times: int


def parse_params(verb: str, query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Parameters from the query string and a form or JSON body, the body winning."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if verb != "POST" or not body:
        return params
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        loaded = json.loads(body.decode("utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError("JSON body is not an object")
        params.update(loaded)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif kind.startswith("multipart/"):
        raise ValueError("multipart bodies are not supported by this fake")
    return params


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up (a long poll given up, a desk shutting down) is normal: no traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeHTTPServer:
    """Base of the fakes: start/stop, request log, fault injection, a state lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        # Long-polling routes wait on this; anything that adds data notifies it.
        self.changed = threading.Condition(self.lock)
        self.requests: list[Request] = []
        self._faults: list[_Fault] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "fake server not started"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes; with Nagle on, a keep-alive client's delayed
            # ACK holds the body back ~40 ms per request. Real API servers set TCP_NODELAY too.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # tests read `fake.requests`, not stderr

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() waits for the serving loop to notice, at most this long.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self.changed:
            self.changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests call -------------------------------------------------------------

    def fail(
        self,
        key: str,
        *,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests routed to `key` with this response instead."""
        with self.lock:
            self._faults.append(_Fault(key, Response(status, body, dict(headers or {})), times))

    def calls(self, key: str) -> list[Request]:
        """The requests routed to `key` so far."""
        with self.lock:
            return [r for r in self.requests if self.route_key(r) == key]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until `predicate()` holds (checked whenever the fake's state changes)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self.changed.wait(min(left, 0.1))

    def notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    # -- what subclasses implement ---------------------------------------------------

    def route_key(self, request: Request) -> str:
        """The name faults and `calls` match on (usually the API method)."""
        return request.path

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    # -- plumbing --------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, verb: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(handler, Response(413, {"ok": False, "error": "request_too_large"}))
            return
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            params = parse_params(verb, split.query, headers.get("content-type", ""), body)
        except (ValueError, UnicodeDecodeError) as exc:
            self._send(handler, Response(400, {"ok": False, "error": f"invalid_body: {exc}"}))
            return
        request = Request(verb, split.path, params, headers, body, split.query)
        with self.lock:
            self.requests.append(request)
            fault = self._take_fault(self.route_key(request))
        response = fault if fault is not None else self.handle(request)
        self._send(handler, response)

    def _take_fault(self, key: str) -> Response | None:
        for fault in self._faults:
            if fault.key == key and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault.response
        return None

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, response: Response) -> None:
        payload = response.payload()
        try:
            handler.send_response(response.status)
            handler.send_header("Content-Type", response.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout in the test): nothing to answer
