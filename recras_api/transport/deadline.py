"""Wall-time bounds for requests: a server that trickles bytes cannot hold a run forever.

requests' read timeout restarts with every byte received, so a server sending one byte
every two seconds never trips a 3-second timeout. A :class:`Deadline` is the wall-time
budget of one request; :class:`WatchedAdapter` tells it which socket the request uses (when
the response headers are awaited), and a watchdog thread shuts that socket down once the
budget is spent, which ends the blocked read at once, in headers or body alike.

Only time spent *waiting on the server* counts: :meth:`Deadline.waiting` brackets each wait.
While the caller works on what it already has (the tap writing records, fetching details),
the list's socket is not being read and no budget is used.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from typing_extensions import override
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: How often the watchdog looks at the running requests.
POLL_SECONDS = 0.1

_current = threading.local()


class Deadline:
    """The wall-time budget of one request: ``base_seconds + bytes_received / bytes_per_second``.

    ``bytes_per_second`` of ``None`` makes the budget a fixed ``base_seconds``. The bytes
    being read count as received while they are awaited (``read_ahead``), so a server that
    keeps up at least ``bytes_per_second`` on average never runs out of budget.

    :meth:`start` makes one the watchdog enforces; :meth:`close` ends that.
    """

    def __init__(
        self, base_seconds: float, bytes_per_second: float | None = None, read_ahead: int = 0
    ) -> None:
        self.base_seconds = base_seconds
        self.bytes_per_second = bytes_per_second
        self.read_ahead = read_ahead
        self.received = 0
        self.expired = False
        self._spent = 0.0
        self._waiting_since: float | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls, base_seconds: float, bytes_per_second: float | None = None, read_ahead: int = 0
    ) -> Deadline:
        """A budget the watchdog enforces from now on (its thread starts with the first)."""
        deadline = cls(base_seconds, bytes_per_second, read_ahead)
        _WATCHDOG.watch(deadline)
        return deadline

    @property
    def allowed_seconds(self) -> float:
        """The budget for what has been received so far (plus the read under way)."""
        if self.bytes_per_second is None:
            return self.base_seconds
        return self.base_seconds + (self.received + self.read_ahead) / self.bytes_per_second

    def spent_seconds(self) -> float:
        """Time spent waiting on the server so far."""
        with self._lock:
            return self._spent_locked(time.monotonic())

    def _spent_locked(self, now: float) -> float:
        running = 0.0 if self._waiting_since is None else now - self._waiting_since
        return self._spent + running

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Count the time inside as waiting on the server; sockets opened inside are watched."""
        with self._lock:
            self._waiting_since = time.monotonic()
        _current.deadline = self
        try:
            yield
        finally:
            _current.deadline = None
            with self._lock:
                now = time.monotonic()
                self._spent = self._spent_locked(now)
                self._waiting_since = None
                if self._spent > self.allowed_seconds:
                    self.expired = True

    def add_bytes(self, count: int) -> None:
        """Record ``count`` more bytes received (they widen a throughput budget)."""
        with self._lock:
            self.received += count

    def close(self) -> None:
        """The request is over: stop watching (its connection may serve another request)."""
        _WATCHDOG.unwatch(self)
        with self._lock:
            self._sock = None

    def _attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
        self._enforce()

    def _enforce(self) -> None:
        with self._lock:
            if self._waiting_since is None:
                return
            if self._spent_locked(time.monotonic()) <= self.allowed_seconds:
                return
            self.expired = True
            sock, self._sock = self._sock, None
        if sock is not None:
            # The base class's shutdown: an SSLSocket's own would also drop its TLS state under
            # the reading thread's feet. Shutting down wakes a blocked recv at once; OSError:
            # the other side closed it already.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that enforces every open :class:`Deadline`."""

    def __init__(self) -> None:
        self._active: set[Deadline] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._changed:
            self._active.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="recras-deadlines", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def unwatch(self, deadline: Deadline) -> None:
        with self._changed:
            self._active.discard(deadline)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._active:
                    self._changed.wait()
                deadlines = list(self._active)
            for deadline in deadlines:
                deadline._enforce()
            time.sleep(POLL_SECONDS)


_WATCHDOG = _Watchdog()


def _watch_current(sock: socket.socket | None) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline._attach(sock)


class _WatchedHTTPConnection(HTTPConnection):
    @override
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_current(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    @override
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _watch_current(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections report their socket to the running :class:`Deadline`.

    The socket is known once the request is sent and its answer awaited
    (``getresponse``); from then on the watchdog can end the wait, whether the server
    trickles the headers or the body.
    """

    @override
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """requests' hook for adapter subclasses: swap in the watched connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }
