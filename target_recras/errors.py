"""The exceptions that end a target-recras run early."""

from __future__ import annotations

import signal


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
