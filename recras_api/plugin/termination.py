"""Stopping a run on SIGTERM or SIGINT: the handler notes the signal, the run stops safely.

A Python signal handler runs in the main thread between two bytecodes, wherever that thread
is: halfway through writing a line to stdout, or holding the lock of the very writer the
handler would need. A handler that writes there splits a line or waits for itself for ever
(both seen: a STATE glued to half a RECORD, and source-recras deadlocked on its output lock).
So the handler here, :meth:`StopSignals.received`, takes no lock and writes nothing: it
notes the signal and raises :class:`Stopped` in the main thread (as ``KeyboardInterrupt``
does), unless that thread is inside a write of the run's output or another section a stop
must wait for (:meth:`StopSignals.held`), in which case leaving that section raises it.
Whoever catches :class:`Stopped` writes what the run owes its reader (the last safe STATE)
and ends the process.

A write that cannot finish (the reader stopped reading and the pipe is full) must not hold
the process up: the first signal also starts a timer of :data:`GRACE_SECONDS`, after which
the process ends at once by the executable's ``end`` (an exit status, or the signal itself).

Worker threads start with the signals blocked (:func:`signals_blocked`), so the kernel
delivers them to the main thread, whose blocking waits they interrupt.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import IO, NoReturn

#: The signals that stop a run.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
#: Seconds a stopped run may take to write its last messages before it ends regardless:
#: less than the 10 s PyAirbyte waits before SIGKILL (Kubernetes and Meltano wait longer).
GRACE_SECONDS = 8.0

#: Ends the process after a stop by signal ``signum``; never returns.
End = Callable[[int], NoReturn]


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived: the run stops at once, after its last safe messages.

    A ``BaseException``, like ``KeyboardInterrupt``: ``except Exception`` blocks on the way
    (a failed request, a failed write) do not take it for an error of theirs.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        #: What a shell reports for a process ended by this signal (143 for SIGTERM).
        self.exit_code = 128 + signum
        super().__init__(f"received {self.signal_name}")


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def exit_with_status(signum: int) -> NoReturn:
    """End the process with status ``128 + signum`` (Singer: orchestrators read the status)."""
    os._exit(128 + signum)


def exit_by_signal(signum: int) -> NoReturn:
    """End the process by the signal itself (PyAirbyte accepts -15 but not 143)."""
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # only if the signal did not end the process


class _Held:
    """The context of :meth:`StopSignals.held`."""

    def __init__(self, signals: StopSignals) -> None:
        self._signals = signals

    def __enter__(self) -> None:
        self._signals.hold()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # An exception on its way out (a broken pipe) is not replaced by the stop.
        self._signals.release(raising=kind is None)


class StopSignals:
    """The process's SIGTERM and SIGINT handling (one per process: signals are per process).

    ``end`` ends the process when the grace period is over; the executables whose reader
    wants the signal itself (the Airbyte connectors) set it to :func:`exit_by_signal`.
    """

    def __init__(self) -> None:
        #: The stop signal received first, or None.
        self.signum: int | None = None
        self.end: End = exit_with_status
        self._raised = False  # a Stopped was raised, or the run is complete: raise none (more)
        self._holds = 0  # sections of the main thread that a stop must not cut
        self._main = threading.main_thread().ident
        self._held = _Held(self)

    def install(self) -> None:
        """Handle the stop signals from now on (only the main thread can; elsewhere no-op)."""
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, self.received)

    @staticmethod
    def ignore_once_exiting() -> None:
        """Ignore stop signals once the interpreter's exit handlers have run (for executables).

        The run's output is complete by then, and the interpreter's finalization puts the
        default handlers back, under which a SIGTERM in the last tens of milliseconds
        ended a finished run by the signal. Registered first, the callback runs last.
        """
        atexit.register(_ignore_stop_signals)

    def received(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler: note the signal and raise :class:`Stopped` where it is safe."""
        if self.signum is not None:
            return  # the stop is under way; a second signal changes nothing
        self.signum = signum
        signal.signal(signal.SIGALRM, self._grace_over)
        signal.setitimer(signal.ITIMER_REAL, GRACE_SECONDS)
        if not self._holds and not self._raised:
            self._raised = True
            raise Stopped(signum)

    def run_complete(self) -> None:
        """The run's output is written: from now on a stop signal is noted, never raised.

        The interpreter's exit still waits for threads and then flushes the outputs; a
        :class:`Stopped` raised in there is printed as ``Exception ignored in: <module
        'threading'>`` and cuts the exit short. The grace period still bounds the exit.
        """
        self._raised = True

    def _grace_over(self, alarm: int, frame: FrameType | None) -> None:
        # Nothing is flushed: a write or a lock is what holds the stop up.
        if self.signum is not None:
            self.end(self.signum)

    def finish(self, stop: Stopped) -> NoReturn:
        """End a stopped run whose last messages are written: flush the logs and outputs, end.

        Not ``sys.exit``: the interpreter's exit runs atexit hooks (a writer flushing records
        after the last STATE) and waits for threads still retrying requests. The grace
        period bounds the flush too.
        """
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            # Closed, or the reader went away: there is nothing left to keep.
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        self.end(stop.signum)

    def held(self) -> _Held:
        """``with stop_signals.held(): ...``: a section a stop waits for, such as a write.

        In the main thread, a stop signal received inside raises :class:`Stopped` when the
        section is left; other threads are never interrupted by a signal anyway.
        """
        return self._held

    def hold(self) -> None:
        """A section a stop must not cut starts (see :meth:`held`)."""
        if threading.get_ident() == self._main:
            self._holds += 1

    def release(self, *, raising: bool = True) -> None:
        """The section ends; raise the stop it held back, if any (unless ``raising`` is False)."""
        if threading.get_ident() != self._main:
            return
        self._holds -= 1
        if raising and not self._holds:
            self.raise_if_stopped()

    def raise_if_stopped(self) -> None:
        """Raise :class:`Stopped` in the main thread if a signal arrived and was not raised."""
        signum = self.signum
        if signum is not None and not self._raised and threading.get_ident() == self._main:
            self._raised = True
            raise Stopped(signum)


def write_all(out: IO[bytes], data: bytes | bytearray) -> None:
    """Write every byte of ``data`` to ``out`` and flush it.

    A write that a signal interrupts may take only part of its bytes and say how many: a
    raw file's (``PYTHONUNBUFFERED=1``) and a buffered one's alike (seen: 37,301 of 65,973
    bytes, when SIGTERM struck a write to a full pipe). The rest is written after it.
    """
    written = 0
    with memoryview(data) as view:
        while written < len(view):
            written += out.write(view[written:])
    out.flush()


#: This process's stop signals.
stop_signals = StopSignals()


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Threads started inside never receive SIGTERM/SIGINT; the main thread does.

    A thread inherits its creator's signal mask. With the signals blocked in every worker
    thread the kernel delivers them to the main thread, so whatever it waits for (the input,
    a worker's result) is interrupted at once instead of when the wait ends.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
