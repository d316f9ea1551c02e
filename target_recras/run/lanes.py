"""Concurrency: the writer threads.

:class:`OrderedLanes` runs writes on ``max_workers`` threads while keeping every customer's
writes in input order: jobs with the same key form a lane, and a lane is worked on by one
thread at a time. Writes start as soon as records arrive (no batch barrier), which is how the
target keeps pace with a plain multi-threaded script.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable

#: Jobs that may wait per worker before ``submit`` blocks (bounds memory on huge inputs).
QUEUE_PER_WORKER = 256


class OrderedLanes:
    """A thread pool whose jobs run one at a time, in submission order, per key.

    The first exception a job raises is kept as :attr:`failure`; from then on no new job
    starts, queued jobs are dropped (never run, so never counted as done) and ``submit`` and
    ``wait`` re-raise it.
    """

    def __init__(
        self, workers: int, name: str = "recras-writer", queue_per_worker: int = QUEUE_PER_WORKER
    ) -> None:
        """Lanes not yet at work: :meth:`start` makes them and starts their threads."""
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._lanes: dict[Hashable, deque[Callable[[], None]]] = {}
        self._ready: deque[Hashable] = deque()
        self._jobs = 0
        self._limit = workers * queue_per_worker
        self._closed = False
        self.failure: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]

    @classmethod
    def start(
        cls, workers: int, name: str = "recras-writer", queue_per_worker: int = QUEUE_PER_WORKER
    ) -> OrderedLanes:
        """``workers`` threads, started, waiting for jobs; :meth:`close` ends them."""
        lanes = cls(workers, name, queue_per_worker)
        for thread in lanes._threads:
            thread.start()
        return lanes

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        return self._jobs

    def submit(self, key: Hashable, job: Callable[[], None]) -> None:
        """Queue ``job`` behind earlier jobs with the same ``key``."""
        with self._lock:
            while self._jobs >= self._limit and self.failure is None:
                self._room.wait()
            if self.failure is not None:
                raise self.failure
            lane = self._lanes.get(key)
            if lane is None:
                self._lanes[key] = deque([job])
                self._ready.append(key)
                self._work.notify()
            else:
                lane.append(job)
            self._jobs += 1

    def wait(self) -> None:
        """Block until every queued job has finished; re-raise a job's failure."""
        with self._lock:
            while self._jobs and self.failure is None:
                self._room.wait()
            if self.failure is not None:
                raise self.failure

    def cancel(self) -> None:
        """Start no new job: queued jobs are dropped (never run, never counted as done).

        Jobs already running finish; :meth:`close` waits for them.
        """
        with self._lock:
            self._drop_queued()

    def close(self) -> None:
        """Let the threads finish their current job and exit."""
        with self._lock:
            self._closed = True
            self._work.notify_all()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._ready and not self._closed:
                    self._work.wait()
                if not self._ready:
                    return
                key = self._ready.popleft()
                job = self._lanes[key][0]
            try:
                job()
            except BaseException as exc:  # handed to the main thread
                self._fail(exc)
                return
            with self._lock:
                self._jobs -= 1
                lane = self._lanes.get(key)
                if lane is None:  # dropped by a failure meanwhile
                    continue
                lane.popleft()
                if lane:
                    self._ready.append(key)
                    self._work.notify()
                else:
                    del self._lanes[key]
                # Only the counts that end a wait: room again for submit, or nothing left for
                # wait. Waking the main thread after every job cost a GIL hand-over per
                # write for nothing.
                if self._jobs in {0, self._limit - 1}:
                    self._room.notify_all()

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = exc
            self._drop_queued()

    def _drop_queued(self) -> None:
        self._ready.clear()
        self._lanes.clear()
        self._closed = True
        self._work.notify_all()
        self._room.notify_all()
