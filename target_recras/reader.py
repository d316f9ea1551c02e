"""Reading Singer messages: fast, and without ever dropping a line silently.

singer-sdk's reader parses every line with ``json.loads(parse_float=Decimal)`` and ends the
run at the first line that is not JSON. This reader reads the input as bytes (so a line of
invalid UTF-8 is one bad line, not the end of the run), decodes with msgspec (faster:
benchmarks/sdk_steps_benchmark.py; Recras bodies contain no fractional numbers, so floats
stay floats) and hands every line it cannot use -- not UTF-8, not JSON, nested too deeply,
not a Singer message, an unknown message type -- to ``on_bad_line``, which writes it to the
rejects file. It counts input lines, so rejects and errors can say where a message came from.

``on_stop`` is told when the loop ends by an exception (a stop, a signal, a bug), so the
run's resources are released and its summary logged wherever the loop was interrupted.
"""

from __future__ import annotations

import io
import sys
import typing as t
from collections import Counter
from collections.abc import Iterable, Iterator

import msgspec
from singer_sdk.io_base import SingerReader

#: Decodes one line of JSON (bytes or str); raises ``msgspec.DecodeError``.
decode_line = msgspec.json.Decoder().decode


def _binary_lines(file_input: t.IO[t.Any] | None) -> Iterable[bytes | str]:
    """The input's lines, as bytes where the stream has a byte layer under it."""
    stream = sys.stdin if file_input is None else file_input
    buffer = getattr(stream, "buffer", None)
    if isinstance(buffer, io.BufferedIOBase | io.RawIOBase):
        return t.cast("Iterator[bytes]", buffer)
    return stream  # an in-memory text stream (tests, the SDK's test runner)


def _why_unreadable(raw: bytes, exc: Exception) -> str:
    """The reason a line could not be decoded, in the user's terms."""
    if isinstance(exc, RecursionError):
        return "input line is nested too deeply to be a Singer message"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"input line is not valid UTF-8 (byte 0x{raw[bad.start]:02x} at position "
            f"{bad.start}); Singer messages are UTF-8 JSON"
        )
    return f"input line is not valid JSON ({exc})"


class RecrasMessageReader(SingerReader):
    """Singer message reader that reports unusable lines instead of raising.

    It replaces the SDK's line loop (:meth:`process_lines`), so the SDK reader's
    ``deserialize_json`` is never called.
    """

    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        #: Called with (line, reason) for every line that is not a usable message.
        self.on_bad_line: t.Callable[[str, str], None] | None = None
        #: Called with the exception that ended the loop early, before it propagates.
        self.on_stop: t.Callable[[BaseException], None] | None = None
        #: The input ended and every message was dispatched.
        self.finished = False

    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Dispatch every message to its callback; report the lines that are none."""
        try:
            counts = self._dispatch(_binary_lines(file_input), callbacks)
        except BaseException as exc:
            if self.on_stop is not None:
                self.on_stop(exc)
            raise
        self.finished = True
        return counts

    def _dispatch(
        self, lines: Iterable[bytes | str], callbacks: dict[str, t.Callable[[dict], None]]
    ) -> t.Counter[str]:
        counts: t.Counter[str] = Counter()
        for line in lines:
            self.line_number += 1
            if line.isspace():
                continue
            try:
                message = decode_line(line)
            except (msgspec.DecodeError, RecursionError) as exc:
                raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
                self._bad_line(line, _why_unreadable(raw, exc))
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            callback = callbacks.get(kind) if isinstance(kind, str) else None
            if callback is None or not isinstance(kind, str):
                what = f"unknown Singer message type {kind!r}" if kind else "not a Singer message"
                self._bad_line(line, f"input line is {what} (no usable 'type')")
                continue
            callback(message)
            counts[kind] += 1
        return counts

    def _bad_line(self, line: bytes | str, reason: str) -> None:
        text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
        if self.on_bad_line is None:
            msg = f"input line {self.line_number}: {reason}: {text[:200]!r}"
            raise ValueError(msg)
        self.on_bad_line(text.rstrip("\n"), reason)
