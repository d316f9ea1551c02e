"""The exceptions that end a target-recras run early, and the signals that raise one."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

#: Signals that make the run drain and exit with ``128 + signal``.
TERMINATION_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


class TargetStopError(Exception):
    """The run must stop; ``str(exc)`` tells the user why and what to do.

    Raised for 401/403, Recras staying unavailable after all retries, answers that cannot be
    trusted, and ``max_rejects`` exceeded. No STATE is emitted after it.
    """


class TargetTerminatedError(BaseException):
    """SIGTERM or SIGINT arrived: the run drains and exits with ``128 + signal``.

    A ``BaseException``, like ``KeyboardInterrupt``: it unwinds the main thread from wherever
    it waits (reading input, a full write queue) without being taken for a failed write.
    """

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(f"received {self.signal_name}")


@contextmanager
def termination_signals_blocked() -> Iterator[None]:
    """Threads started inside never receive SIGTERM/SIGINT; the main thread does.

    A thread inherits its creator's signal mask. With the signals blocked in every writer
    thread the kernel delivers them to the main thread, so a blocking read of the input is
    interrupted and the run drains at once (otherwise the main thread would only notice
    when the next input line arrived).
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATION_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
