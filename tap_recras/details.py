"""Bounded, order-preserving concurrent fetching of customer details.

The customer list arrives as one stream; every customer's contact persons need one more
request (``GET /api2/klanten/<id>``). Fetching those one by one makes the run as slow as the
sum of all round trips, so :func:`fetch_in_order` keeps up to ``max_workers`` requests in
flight while the list is still being read, and hands results back in list order. Only a
sliding window of futures is kept, so memory does not grow with the number of customers.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Generic, TypeVar

from recras_api.plugin.termination import signals_blocked

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

#: Futures kept pending per worker: enough that the other workers keep going for about a
#: second while one request waits out a 429's ``Retry-After`` (with 4 per worker, the tap
#: stood still for nearly that second at every 429: benchmarks/concurrency_benchmark.py,
#: numbers in benchmarks/README.md), small enough that memory stays
#: bounded (a thousand customers for 16 workers).
WINDOW_PER_WORKER = 64


class _DaemonWorkers(Generic[ItemT, ResultT]):
    """Worker threads that never hold up the process's exit.

    ``ThreadPoolExecutor`` joins its threads when the interpreter exits, so a run that
    failed (or was stopped) waited for every detail request still retrying a hanging server,
    for minutes. A detail request is a read: abandoning it at exit loses nothing.
    """

    def __init__(self, fetch: Callable[[ItemT], ResultT], count: int) -> None:
        """Workers not yet at work: :meth:`start` makes them and starts their threads."""
        self._fetch = fetch
        self._count = count
        self._jobs: queue.SimpleQueue[tuple[ItemT, Future[ResultT]] | None] = queue.SimpleQueue()

    @classmethod
    def start(cls, fetch: Callable[[ItemT], ResultT], count: int) -> _DaemonWorkers[ItemT, ResultT]:
        """``count`` threads, started, each running ``fetch`` on the items submitted."""
        workers = cls(fetch, count)
        # A stop signal goes to the main thread, which may be waiting for a worker's result.
        with signals_blocked():
            for number in range(count):
                name = f"detail-{number}"
                threading.Thread(target=workers._work, name=name, daemon=True).start()
        return workers

    def submit(self, item: ItemT) -> Future[ResultT]:
        future: Future[ResultT] = Future()
        self._jobs.put((item, future))
        return future

    def stop(self) -> None:
        """Let each worker end once the jobs already queued are done (or cancelled)."""
        for _ in range(self._count):
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            item, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._fetch(item))
            except BaseException as exc:  # handed to the caller with its item's result
                future.set_exception(exc)


def fetch_in_order(
    items: Iterable[ItemT],
    fetch: Callable[[ItemT], ResultT],
    max_workers: int,
) -> Iterator[tuple[ItemT, ResultT]]:
    """Yield ``(item, fetch(item))`` for every item, in input order.

    ``fetch`` runs on up to ``max_workers`` threads; at most ``max_workers *
    WINDOW_PER_WORKER`` items are pending at any time. An exception raised by ``fetch``
    surfaces when its item's turn comes, and stops the iteration. Closing the iterator
    early cancels the requests that have not started.
    """
    count = max(max_workers, 1)
    window = count * WINDOW_PER_WORKER
    pending: deque[tuple[ItemT, Future[ResultT]]] = deque()
    workers = _DaemonWorkers.start(fetch, count)
    try:
        for item in items:
            pending.append((item, workers.submit(item)))
            if len(pending) >= window:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        while pending:
            done_item, future = pending.popleft()
            yield done_item, future.result()
    finally:
        # On errors and early close nobody waits for the rest: drop what has not started.
        for _item, future in pending:
            future.cancel()
        workers.stop()
