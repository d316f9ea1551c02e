"""A small misbehaving HTTP server on 127.0.0.1, for tests of what the connectors survive.

The sandbox follows the vendor docs; this server does what no well-behaved Recras does.
Each route answers with a :class:`Reply`, chosen per request; the named constructors are
the misbehaviour modes::

    with HostileServer({"GET /api2/klanten": Reply.redirect("http://127.0.0.1:1/x")}) as srv:
        run_tap(srv.config(api_key="k"))
        assert srv.requests[0].path == "/api2/klanten"

Routes are ``"METHOD /path"``; a path ending in ``/*`` matches any path below it, and
``"*"`` matches every request. A route's value is a :class:`Reply` (the same answer every
time), a list of replies (one per request, the last one repeated), or a callable that gets
the :class:`Seen` request and returns the reply. Unrouted requests get a 404. Every request
is recorded in :attr:`HostileServer.requests`. Slow replies stop when the server closes.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

import pytest

#: Replaced, in a reply's body, by the Authorization header of the request it answers.
AUTHORIZATION = "{authorization}"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """One answer. ``body``: bytes as they are, text as UTF-8, anything else as JSON."""

    status: int = 200
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Send the body one byte at a time, this many seconds apart (headers go out at once).
    trickle_seconds: float | None = None
    #: Also trickle the status line and headers, one byte at a time.
    trickle_headers: bool = False
    #: Send the body at this steady rate by the clock (headers go out at once): a starved
    #: server thread catches up on waking, so the pace does not depend on the machine's load.
    bytes_per_second: float | None = None

    def encoded(self, request: Seen) -> bytes:
        """The body bytes, with :data:`AUTHORIZATION` filled in from ``request``."""
        body = self.body
        if isinstance(body, bytes):
            return body
        text = body if isinstance(body, str) else json.dumps(body)
        return text.replace(AUTHORIZATION, request.headers.get("Authorization", "")).encode()

    @classmethod
    def json(cls, value: Any, status: int = 200, **headers: str) -> Reply:
        """A JSON answer."""
        return cls(status, json.dumps(value), {"Content-Type": "application/json", **headers})

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        """A redirect to ``location``."""
        return cls(status, b"", {"Location": location})

    @classmethod
    def echo_authorization(cls, status: int, **headers: str) -> Reply:
        """An error whose Recras-style message quotes the request's Authorization header."""
        message = f"Bad request, you sent Authorization: {AUTHORIZATION}"
        return cls.json({"error": {"message": message}}, status, **headers)

    @classmethod
    def gzip_bomb(cls, inflated_bytes: int, *, in_list: bool = False) -> Reply:
        """A 200 whose gzip body is small on the wire and ``inflated_bytes`` of JSON text.

        The text is one string of zeros: the body, or (``in_list``) the one item of a list.
        """
        return cls(
            200,
            _gzip_zeros(inflated_bytes, in_list=in_list),
            {"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    @classmethod
    def trickle(cls, body: Any, seconds: float, *, headers_too: bool = False) -> Reply:
        """``body`` sent one byte every ``seconds`` (the read timeout restarts each time)."""
        return cls(200, body, {"Content-Type": "application/json"}, seconds, headers_too)

    @classmethod
    def steady(cls, body: Any, bytes_per_second: float) -> Reply:
        """``body`` sent at ``bytes_per_second``, in small pieces, by the clock."""
        headers = {"Content-Type": "application/json"}
        return cls(200, body, headers, bytes_per_second=bytes_per_second)

    @classmethod
    def deep_json(cls, depth: int, *, in_list: bool) -> Reply:
        """JSON nested ``depth`` arrays deep: as the one item of a list, or as the body."""
        nested = "[" * depth + "]" * depth
        return cls(200, f"[{nested}]" if in_list else nested, {"Content-Type": "application/json"})


def _gzip_zeros(size: int, *, in_list: bool) -> bytes:
    """gzip of a JSON string of ``size`` zeros (in a list), compressed piecewise to stay fast."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b'["' if in_list else b'"')]
    piece = b"0" * (1 << 20)
    for _ in range(size // len(piece)):
        parts.append(compressor.compress(piece))
    parts.append(compressor.compress(b"0" * (size % len(piece)) + (b'"]' if in_list else b'"')))
    parts.append(compressor.flush())
    return b"".join(parts)


def endless_pages(request: Seen) -> Reply:
    """An empty page with a ``next`` link to a page never seen before, forever."""
    page = int(dict(p.partition("=")[::2] for p in request.query.split("&")).get("page") or 1)
    link = f'<{request.path}?page={page + 1}>; rel="next"'
    return Reply.json([], Link=link)


RouteAnswer = Reply | Sequence[Reply] | Callable[[Seen], Reply]


class HostileServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering each route with chosen replies."""

    def __init__(self, routes: Mapping[str, RouteAnswer]) -> None:
        self.routes = dict(routes)
        self.requests: list[Seen] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, usable as ``base_url``."""
        return f"http://127.0.0.1:{self.port}"

    def config(self, **settings: Any) -> dict[str, Any]:
        """Plugin config pointing at this server, plus ``settings``."""
        return {"base_url": self.url, **settings}

    def close(self) -> None:
        """Stop serving; replies still trickling stop at their next byte."""
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _reply_for(self, request: Seen) -> Reply:
        for route in (f"{request.method} {request.path}", *self._prefix_routes(request), "*"):
            answer = self.routes.get(route)
            if answer is None:
                continue
            if isinstance(answer, Reply):
                return answer
            if callable(answer):
                return answer(request)
            with self._lock:
                index = self._counts[route] = self._counts.get(route, -1) + 1
            return answer[min(index, len(answer) - 1)]
        return Reply.json({"error": {"message": "not routed"}}, 404)

    def _prefix_routes(self, request: Seen) -> Iterator[str]:
        parts = request.path.split("/")
        for end in range(len(parts) - 1, 0, -1):
            yield f"{request.method} {'/'.join(parts[:end])}/*"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    parts.query,
                    dict(self.headers.items()),
                    self.rfile.read(length),
                )
                with server._lock:
                    server.requests.append(seen)
                reply = server._reply_for(seen)
                body = reply.encoded(seen)
                head = [f"HTTP/1.1 {reply.status} Hostile\r\n"]
                head += [f"{name}: {value}\r\n" for name, value in reply.headers.items()]
                head.append(f"Content-Length: {len(body)}\r\n\r\n")
                head_bytes = "".join(head).encode("latin-1")
                try:
                    if reply.trickle_seconds is not None and reply.trickle_headers:
                        self._trickle(head_bytes, reply.trickle_seconds)
                    else:
                        self.wfile.write(head_bytes)
                        self.wfile.flush()
                    if reply.trickle_seconds is not None:
                        self._trickle(body, reply.trickle_seconds)
                    elif reply.bytes_per_second is not None:
                        self._pace(body, reply.bytes_per_second)
                    else:
                        self.wfile.write(body)
                except OSError:
                    self.close_connection = True

            #: Routes, not methods, choose the reply.
            do_GET = do_POST = do_PUT = _answer  # noqa: N815 - http.server names

            def _trickle(self, data: bytes, seconds: float) -> None:
                for index in range(len(data)):
                    if server._closed.wait(seconds):
                        self.close_connection = True
                        return
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()

            def _pace(self, data: bytes, bytes_per_second: float) -> None:
                started, sent = time.monotonic(), 0
                while sent < len(data):
                    if server._closed.wait(0.01):
                        self.close_connection = True
                        return
                    due = min(len(data), int((time.monotonic() - started) * bytes_per_second))
                    if due > sent:
                        self.wfile.write(data[sent:due])
                        self.wfile.flush()
                        sent = due

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read :attr:`HostileServer.requests` instead."""

        return Handler


@pytest.fixture
def hostile_servers() -> Iterator[Callable[[Mapping[str, RouteAnswer]], HostileServer]]:
    """Start hostile servers on demand; all are closed when the test ends.

    Import it into a test module (``from hostile_server import hostile_servers``) to use it.
    """
    started: list[HostileServer] = []

    def start(routes: Mapping[str, RouteAnswer]) -> HostileServer:
        server = HostileServer(routes)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
