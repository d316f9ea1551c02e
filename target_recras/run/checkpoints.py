"""When a STATE is released: after every record that arrived before it is done.

:class:`Checkpoints` gives records increasing sequence numbers; a STATE that arrived after
record *n* is emitted once every record before *n* has been written or rejected, whatever
order the writer threads finished them in. STATE messages leave in the order they arrived.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class Checkpoints:
    """Sequence numbers for records, and the STATE messages waiting for them."""

    def __init__(self, emit: Callable[[dict[str, Any], int], None]) -> None:
        #: Called with a STATE and the sequence number it arrived at: every record below
        #: that number is done, and the STATE covers exactly those.
        self._emit = emit
        self._lock = threading.Lock()
        self._next = 0
        self._low = 0  # every record below this is done
        self._done: set[int] = set()
        self._states: deque[tuple[int, dict[str, Any]]] = deque()

    @property
    def watermark(self) -> int:
        """Every record with a lower sequence number has been written or rejected."""
        return self._low

    def start(self) -> int:
        """A new record's sequence number."""
        with self._lock:
            seq = self._next
            self._next += 1
            return seq

    def finish(self, seq: int) -> None:
        """Record ``seq`` was written or rejected."""
        with self._lock:
            if seq != self._low:
                self._done.add(seq)
                return
            self._low += 1
            while self._low in self._done:
                self._done.remove(self._low)
                self._low += 1
            self._release()

    def add_state(self, state: dict[str, Any]) -> None:
        """A STATE arrived: it covers every record started so far."""
        with self._lock:
            self._states.append((self._next, state))
            self._release()

    def _release(self) -> None:
        ready = None
        while self._states and self._states[0][0] <= self._low:
            ready = self._states.popleft()
        if ready is not None:
            # Under the lock: STATE messages leave in the order they arrived. The STATE
            # covers the records before it, not every record done by now: later ones may
            # have finished first, and a rerun from this STATE sends them again.
            arrived, state = ready
            self._emit(state, arrived)
