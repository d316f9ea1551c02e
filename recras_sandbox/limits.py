"""The concurrency-limit test mode: at most N ``/api2`` requests in flight per key.

Recras does not document rate limiting; this mode (``--max-concurrent N``) is a test mode
for clients that must adapt to a server that limits them, as many APIs do: a request that
arrives while N others with the same credentials are being answered gets 429 with
``Retry-After`` and is not processed (nor faulted), unless a slot frees within
:data:`SLOT_GRACE_SECONDS`. Requests in turn are never limited.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

#: How long an arriving request waits for a slot before its 429. A slot is freed only after
#: the answer was written, so a client asking in turn can be a moment ahead of that.
SLOT_GRACE_SECONDS = 0.05


class InFlightLimit:
    """Counts requests in flight per key; ``0`` means no limit."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self._freed = threading.Condition()
        self._in_flight: Counter[str] = Counter()

    @contextmanager
    def admit(self, key: str) -> Iterator[bool]:
        """Yield whether a request with ``key`` may be processed; while it is, it counts."""
        if self.maximum <= 0:
            yield True
            return
        with self._freed:
            admitted = self._freed.wait_for(
                lambda: self._in_flight[key] < self.maximum, timeout=SLOT_GRACE_SECONDS
            )
            if admitted:
                self._in_flight[key] += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self._freed:
                    self._in_flight[key] -= 1
                    self._freed.notify_all()
