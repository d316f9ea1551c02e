"""A fault-injecting HTTP proxy for tests: connector -> FaultProxy -> recras-sandbox.

The sandbox's own faults (``--fault-rate``) are decided *before* a request is processed, so a
faulted write never changes anything. Real failures are worse: Recras may process a ``POST``
and the answer is lost on the way back (a dropped connection, a gateway 502/504, a stall past
the client's timeout). This proxy produces both kinds, on a deterministic schedule::

    rules = [
        Rule("POST", "/api2/klanten", nth=2, fault=Fault.after_drop()),  # processed, answer lost
        Rule("PUT", nth={1, 3}, fault=Fault.before_status(503)),          # never reaches upstream
        Rule("POST", nth=4, fault=Fault.after_drop(), hook=kill_target),  # SIGKILL mid-request
    ]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = sandbox.config(base_url=proxy.base_url)
        ...
        proxy.log           # every request: index, method, path, fault, upstream status
        proxy.faulted()     # only the faulted ones

A rule matches a request by method and path (``fnmatch`` pattern on the path without the
query) and fires on the ``nth`` matching request (1-based; an int, a set of ints, or None for
every one). The first rule that fires decides the fault; every firing rule's ``hook`` is
called (once per firing), after the upstream answered for an ``after`` fault or a rule
without fault, before forwarding for a ``before`` fault. A ``schedule`` callable may decide
instead of (or in addition to) rules: it gets the :class:`Exchange` (index, method, path)
and returns a :class:`Fault` or None.

Only loopback addresses: the proxy listens on 127.0.0.1 and refuses a non-loopback upstream.
Every wait is bounded (the upstream timeout, the stall time, the close timeout).
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.client
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

Phase = Literal["before", "after"]
Action = Literal["status", "drop", "stall"]
#: Hop-by-hop headers (RFC 9110 7.6.1) are never forwarded; bodies are re-framed.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one request.

    ``phase`` ``before``: the request never reaches the upstream. ``after``: the upstream
    processed it, then the client gets the fault instead of the answer. ``action``: answer
    ``status`` (with ``Retry-After: retry_after`` when that is not None), ``drop`` the
    connection without an answer, or ``stall`` (no answer for ``stall_seconds``, then drop).
    """

    phase: Phase
    action: Action
    status: int = 503
    retry_after: float | None = 0
    stall_seconds: float = 3.0

    @classmethod
    def before_status(cls, status: int = 503, retry_after: float | None = 0) -> Fault:
        """Answer ``status`` without forwarding (e.g. 429 or 503)."""
        return cls("before", "status", status, retry_after)

    @classmethod
    def before_drop(cls) -> Fault:
        """Close the connection without forwarding."""
        return cls("before", "drop")

    @classmethod
    def after_status(cls, status: int = 502, retry_after: float | None = 0) -> Fault:
        """Forward, then answer ``status`` instead of the upstream's answer (502/503/504)."""
        return cls("after", "status", status, retry_after)

    @classmethod
    def after_drop(cls) -> Fault:
        """Forward, then close the connection without answering."""
        return cls("after", "drop")

    @classmethod
    def after_stall(cls, seconds: float = 3.0) -> Fault:
        """Forward, then send nothing for ``seconds`` (past the client's timeout), then drop."""
        return cls("after", "stall", stall_seconds=seconds)

    def describe(self) -> str:
        """Short text such as ``after-drop`` or ``before-503``."""
        what = str(self.status) if self.action == "status" else self.action
        return f"{self.phase}-{what}"


@dataclass(frozen=True)
class Rule:
    """Fire on the ``nth`` request (1-based) matching ``method`` and ``path`` (None: on each)."""

    method: str = "*"
    path: str = "*"
    nth: int | Collection[int] | None = 1
    fault: Fault | None = None
    hook: Callable[[Exchange], None] | None = None

    def matches(self, method: str, path: str) -> bool:
        """True when the request is one this rule counts."""
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)

    def fires_at(self, count: int) -> bool:
        """True when the ``count``-th matching request is one this rule fires on."""
        if self.nth is None:
            return True
        return count == self.nth if isinstance(self.nth, int) else count in self.nth


@dataclass
class Exchange:
    """One request that reached the proxy, and what the proxy did with it."""

    index: int
    method: str
    path: str
    fault: Fault | None = None
    #: The upstream's status when the request was forwarded, else None.
    upstream_status: int | None = None
    #: Indexes (in ``rules``) of the rules that fired on this request.
    rules: list[int] = field(default_factory=list)

    @property
    def forwarded(self) -> bool:
        """True when the upstream received (and processed) the request."""
        return self.upstream_status is not None

    def describe(self) -> str:
        """One line for failure reports."""
        fault = self.fault.describe() if self.fault else "ok"
        return (
            f"#{self.index} {self.method} {self.path} -> {fault} (upstream {self.upstream_status})"
        )


Schedule = Callable[[Exchange], Fault | None]


class FaultProxy:
    """A threaded loopback HTTP proxy to ``upstream`` that injects scheduled faults."""

    def __init__(
        self,
        upstream: str,
        *,
        rules: list[Rule] | None = None,
        schedule: Schedule | None = None,
        upstream_timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(upstream)
        host = parts.hostname or ""
        if parts.scheme != "http" or not _is_loopback(host) or parts.port is None:
            raise ValueError(f"upstream must be http://<loopback>:<port>, got {upstream!r}")
        self.upstream_host = host
        self.upstream_port = parts.port
        self.rules = list(rules or [])
        self.schedule = schedule
        self.upstream_timeout = upstream_timeout
        self.log: list[Exchange] = []
        self._lock = threading.Lock()
        self._counts = [0] * len(self.rules)
        #: Set by close(): stalled requests end at once.
        self.closing = threading.Event()
        self._server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler, self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------ results

    def faulted(self) -> list[Exchange]:
        """The requests that got a fault, in arrival order."""
        with self._lock:
            return [exchange for exchange in self.log if exchange.fault is not None]

    def describe(self) -> str:
        """The whole log, one request per line (for assertion messages)."""
        with self._lock:
            return "\n".join(exchange.describe() for exchange in self.log)

    # ------------------------------------------------------------ lifecycle

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving; stalled requests end at once."""
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ decisions

    def decide(self, method: str, path: str) -> tuple[Exchange, list[Rule]]:
        """Log the request and find its fault and the rules that fire on it."""
        with self._lock:
            exchange = Exchange(index=len(self.log) + 1, method=method, path=path)
            self.log.append(exchange)
            fired: list[Rule] = []
            for position, rule in enumerate(self.rules):
                if not rule.matches(method, path):
                    continue
                self._counts[position] += 1
                if rule.fires_at(self._counts[position]):
                    fired.append(rule)
                    exchange.rules.append(position)
            fault = next((rule.fault for rule in fired if rule.fault is not None), None)
        if fault is None and self.schedule is not None:
            fault = self.schedule(replace(exchange))
        exchange.fault = fault
        return exchange, fired

    def forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Send the request upstream on a fresh connection; the whole answer.

        The client's ``Host`` is passed on unchanged (as a transparent reverse proxy does), so
        absolute URLs the upstream builds from it (``Link: rel="next"``) lead back through
        the proxy.
        """
        conn = http.client.HTTPConnection(
            self.upstream_host, self.upstream_port, timeout=self.upstream_timeout
        )
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            if not any(name.lower() == "host" for name, _ in headers):
                conn.putheader("Host", f"{self.upstream_host}:{self.upstream_port}")
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            answer = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, response.reason, kept, answer
        finally:
            conn.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished (e.g. a killed target) is expected here; stay quiet."""


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the proxy's own log is ``FaultProxy.log``."""

    def _handle(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        exchange, fired = proxy.decide(self.command, urlsplit(self.path).path)
        fault = exchange.fault
        if fault is not None and fault.phase == "before":
            self._call_hooks(fired, exchange)
            self._fail(fault, proxy)
            return
        try:
            status, reason, headers, answer = proxy.forward(
                self.command, self.path, list(self.headers.items()), body
            )
        except OSError:
            # The upstream is gone: the client sees what it would see from a dead gateway.
            self._fail(Fault.after_status(502), proxy)
            return
        exchange.upstream_status = status
        self._call_hooks(fired, exchange)
        if fault is not None:
            self._fail(fault, proxy)
            return
        self.send_response_only(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    #: Every method is logged, faulted and forwarded the same way.
    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815 - http.server names

    @staticmethod
    def _call_hooks(fired: list[Rule], exchange: Exchange) -> None:
        for rule in fired:
            if rule.hook is not None:
                rule.hook(exchange)

    def _fail(self, fault: Fault, proxy: FaultProxy) -> None:
        if fault.action == "stall":
            proxy.closing.wait(fault.stall_seconds)
        if fault.action in ("drop", "stall"):
            self.close_connection = True
            # shutdown, not just close: the client must see the connection end now.
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = json.dumps({"error": {"message": f"fault proxy: HTTP {fault.status}"}}).encode()
        self.send_response_only(fault.status)
        self.send_header("Content-Type", "application/json")
        if fault.retry_after is not None:
            self.send_header("Retry-After", f"{fault.retry_after:g}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
