"""Bounded, order-preserving concurrent fetching of customer details.

The customer list arrives as one stream; every customer's contact persons need one more
request (``GET /api2/klanten/<id>``). Fetching those one by one makes the run as slow as the
sum of all round trips, so :func:`fetch_in_order` keeps up to ``max_workers`` requests in
flight while the list is still being read, and hands results back in list order. Only a
sliding window of futures is kept, so memory does not grow with the number of customers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

#: Futures kept in flight per worker: enough to keep every worker busy while the caller
#: writes the previous results, small enough that memory stays bounded.
WINDOW_PER_WORKER = 4


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
    window = max(max_workers, 1) * WINDOW_PER_WORKER
    pending: deque[tuple[ItemT, Future[ResultT]]] = deque()
    executor = ThreadPoolExecutor(max_workers=max(max_workers, 1), thread_name_prefix="detail")
    try:
        for item in items:
            pending.append((item, executor.submit(fetch, item)))
            if len(pending) >= window:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        while pending:
            done_item, future = pending.popleft()
            yield done_item, future.result()
    finally:
        # On errors and early close nobody waits for the rest: drop what has not started.
        executor.shutdown(wait=False, cancel_futures=True)
