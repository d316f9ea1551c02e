"""The concurrency-limit test mode: at most N ``/api2`` requests in flight per key.

Recras does not document rate limiting; this mode (``--max-concurrent N``) is a test mode
for clients that must adapt to a server that limits them, as many APIs do: a request that
arrives while N others with the same credentials are being processed gets 429 with
``Retry-After`` and is not processed (nor faulted). A request stops counting just before its
answer is written, so requests in turn are never limited.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Release = Callable[[], None]


class InFlightLimit:
    """Counts requests in flight per key; ``0`` means no limit."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    @contextmanager
    def admit(self, key: str) -> Iterator[Release | None]:
        """Yield a release function if a request with ``key`` may be processed, else None.

        The request counts until the release is called (idempotent) or the block ends.
        """
        if self.maximum <= 0:
            yield lambda: None
            return
        with self._lock:
            admitted = self._in_flight[key] < self.maximum
            if admitted:
                self._in_flight[key] += 1
        if not admitted:
            yield None
            return
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._in_flight[key] -= 1

        try:
            yield release
        finally:
            release()
