"""Concurrency that adapts to Recras: how many requests may be in flight (AIMD).

The plugins run ``max_workers`` threads (detail requests in the tap, writes in the target),
but a server that limits concurrent requests answers the extra ones 429 (or 503 when it is
overloaded). :class:`AdaptiveConcurrency` is the gate every try of the shared client passes
(:class:`~recras_api.client.RecrasClient` takes it as ``concurrency``), so it sees every 429
and 503, retried ones included, and applies the classic rule:

* a 429 or 503 halves the limit (never below 1), or, when the gate grew past a lower level
  (it held a whole growth period), returns to that level: once per change, as the answers
  to tries sent together with the first one say nothing new (only tries sent since the
  last change count). A few successes at a level prove nothing: a server that allows 4
  answers a fifth request 429 only when all five overlap, so a probe at 5 usually gets
  some answers through first (counting those as a round halved the limit to 2 at every
  probe in the benchmark);
* every ``limit * GROWTH_ROUNDS`` tries answered without one raise it by 1 (never above the
  maximum);
* growing back to a level that was answered 429 before takes ``limit * probe_rounds``
  successes instead, and ``probe_rounds`` doubles each time that probe is limited again
  (up to :data:`MAX_PROBE_ROUNDS`): a server with a fixed limit is probed ever more rarely,
  so 429s stay rare, while a limit that was lifted is found again. A level that holds for a
  whole probe clears the memory.

A try waiting out its ``Retry-After`` holds no slot: the gate is taken per try, not per
record, so the other threads keep the allowed number of requests in flight. Order is not the
gate's business: the tap's and the target's threads keep theirs (:mod:`tap_recras.details`,
:mod:`target_recras.run.lanes`).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

#: Rounds of successes at a level before the limit grows by one.
GROWTH_ROUNDS = 4
#: Rounds before a level that was limited before is tried again (doubling per failure).
FIRST_PROBE_ROUNDS = 16
MAX_PROBE_ROUNDS = 1024
#: Answers that mean "fewer at once, please".
LIMITED_STATUSES = frozenset({429, 503})


class AdaptiveConcurrency:
    """A gate of at most ``limit`` tries at once; ``limit`` adapts between 1 and ``maximum``."""

    def __init__(self, maximum: int, logger: logging.Logger | None = None) -> None:
        self.maximum = max(maximum, 1)
        self.limit = self.maximum
        self.logger = logger or logging.getLogger(__name__)
        self._in_flight = 0
        self._round = 0  # bumped by every change: tries of an older round are not counted
        self._successes = 0
        self._ceiling: int | None = None  # the lowest level limited since the last probe
        self._proven: int | None = None  # the level the gate last grew past (it held)
        self._probe_rounds = FIRST_PROBE_ROUNDS
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)

    def slot(self) -> Slot:
        """A context manager holding one slot for one try; ``done(status)`` in it frees it."""
        return Slot(self)

    def _acquire(self) -> int:
        with self._lock:
            while self._in_flight >= self.limit:
                self._free.wait()
            self._in_flight += 1
            return self._round

    def _release(self, sent_in_round: int, status: int | None) -> None:
        """Free the slot and adapt to the try's answer (``None``: no answer, no change)."""
        with self._lock:
            self._in_flight -= 1
            self._free.notify()
            if status is None or sent_in_round != self._round:
                return
            if status in LIMITED_STATUSES:
                self._reduce(status)
            elif status < 500:
                self._succeeded()

    def _reduce(self, status: int) -> None:
        if self._ceiling is not None and self.limit >= self._ceiling:
            self._probe_rounds = min(self._probe_rounds * 2, MAX_PROBE_ROUNDS)
        self._ceiling = self.limit if self._ceiling is None else min(self._ceiling, self.limit)
        if self._proven is not None and self._proven < self.limit:
            self._change(self._proven)
        else:
            self._proven = None  # that level is limited now too
            self._change(max(self.limit // 2, 1))
        self.logger.info(
            "Recras answered %d: concurrency reduced to %d request(s) at once (max_workers %d)",
            status,
            self.limit,
            self.maximum,
        )

    def _succeeded(self) -> None:
        self._successes += 1
        probing = self._ceiling is not None and self.limit + 1 >= self._ceiling
        rounds = self._probe_rounds if probing else GROWTH_ROUNDS
        if self._successes < self.limit * rounds:
            return
        if self._ceiling is not None and self.limit >= self._ceiling:
            self._ceiling = None  # the level held for a whole probe: the limit was lifted
            self._probe_rounds = FIRST_PROBE_ROUNDS
        self._proven = self.limit  # it held a whole growth period (or probe)
        if self.limit < self.maximum:
            self._change(self.limit + 1)
            self.logger.debug("Concurrency raised to %d request(s) at once", self.limit)
        else:
            self._successes = 0

    def _change(self, limit: int) -> None:
        self.limit = limit
        self._round += 1
        self._successes = 0
        self._free.notify_all()


class Slot:
    """One try's place in an :class:`AdaptiveConcurrency` gate, held until its answer is in.

    ``done`` frees it (the client logs the request's metric after that, under the logging
    handler's lock: a slot held for it is a request not in flight); leaving the block frees
    it if ``done`` was not called (no answer).
    """

    def __init__(self, gate: AdaptiveConcurrency) -> None:
        self._gate = gate
        self._round = -1
        self._held = False

    def __enter__(self) -> Slot:
        self._round = self._gate._acquire()
        self._held = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.done(None)

    def done(self, status: int | None) -> None:
        """The try's HTTP status (``None`` when no answer came); frees the slot once."""
        if self._held:
            self._held = False
            self._gate._release(self._round, status)
