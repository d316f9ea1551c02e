"""The one writer of an Airbyte connector's stdout: one JSON message per line.

Airbyte reads every line of stdout as a protocol message, so nothing else may print there:
log records become ``LOG`` messages (:class:`AirbyteLogHandler` replaces every handler of
the root logger), and the writer is shared by the threads that emit (the target's STATE
comes from its write workers). Every text that leaves is scrubbed of the configured secrets
(:func:`recras_api.redact.scrub`) before it is encoded.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO, Any

import msgspec
from typing_extensions import override

from recras_api.plugin.termination import stop_signals, write_all
from recras_api.redact import LOG_FILTER, escape_controls, scrub

_ENCODER = msgspec.json.Encoder(decimal_format="number")
#: Python log level -> Airbyte LOG level.
_LEVELS = (
    (logging.CRITICAL, "FATAL"),
    (logging.ERROR, "ERROR"),
    (logging.WARNING, "WARN"),
    (logging.INFO, "INFO"),
    (logging.DEBUG, "DEBUG"),
)


def now_ms() -> int:
    """Milliseconds since the epoch, as Airbyte's ``emitted_at`` fields want them."""
    return int(time.time() * 1000)


class AirbyteOutput:
    """Writes Airbyte messages to a binary stream (stdout), one line each, thread-safe."""

    def __init__(self, stream: IO[bytes] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._lock = threading.Lock()

    @staticmethod
    def encode(message: dict[str, Any]) -> bytes:
        """One message as a line of UTF-8 JSON (a text that cannot be UTF-8 raises
        ``UnicodeEncodeError``).

        A ``Decimal`` is written as a JSON number with its own digits: the tap's records carry
        money exactly as Recras sent it, never rounded through a binary float.
        """
        return _ENCODER.encode(message) + b"\n"

    def write(self, data: bytes) -> None:
        """Write encoded lines at once and flush (a reader acts on each line as it arrives).

        A stop signal waits for the whole write (:mod:`recras_api.plugin.termination`): the main
        thread may hold the lock when it arrives.
        """
        if not data:
            return
        with stop_signals.held(), self._lock:
            write_all(self._stream, data)

    def emit(self, message: dict[str, Any]) -> None:
        """Write one message."""
        self.write(self.encode(message))

    def log(self, level: str, text: str) -> None:
        """A LOG message (secrets scrubbed; a log record's message is one line already).

        Line breaks stay (a traceback's), every other unsafe character is escaped: a lone
        surrogate could not even be encoded.
        """
        message = escape_controls(scrub(text), keep_line_breaks=True)
        self.emit({"type": "LOG", "log": {"level": level, "message": message}})

    def connection_status(self, *, succeeded: bool, message: str) -> None:
        """The answer to ``check``."""
        status = "SUCCEEDED" if succeeded else "FAILED"
        self.emit(
            {
                "type": "CONNECTION_STATUS",
                "connectionStatus": {"status": status, "message": scrub(message)},
            }
        )

    def trace_error(
        self, message: str, *, failure_type: str, internal_message: str, stack_trace: str | None
    ) -> None:
        """A TRACE ERROR: why the command failed, and whose move it is (``failure_type``)."""
        error: dict[str, Any] = {
            "message": scrub(message),
            "internal_message": scrub(internal_message),
            "failure_type": failure_type,
        }
        if stack_trace:
            error["stack_trace"] = scrub(stack_trace)
        self.emit(
            {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": now_ms(), "error": error}}
        )


class AirbyteLogHandler(logging.Handler):
    """Log records as Airbyte LOG messages on the connector's output."""

    def __init__(self, output: AirbyteOutput) -> None:
        super().__init__()
        self.output = output
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    @override
    def emit(self, record: logging.LogRecord) -> None:
        """Format and write one record; a record that cannot be formatted is reported."""
        try:
            text = self.format(record)
        except Exception:  # logging must never end the run
            self.handleError(record)
            return
        level = next((name for floor, name in _LEVELS if record.levelno >= floor), "TRACE")
        self.output.log(level, text)


def log_to(output: AirbyteOutput, level: int = logging.INFO) -> None:
    """Send every log record (and Python warnings) to ``output`` as LOG messages, only there.

    Each record's message is scrubbed and made one line first (:class:`RedactingFilter`).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = AirbyteLogHandler(output)
    handler.addFilter(LOG_FILTER)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
