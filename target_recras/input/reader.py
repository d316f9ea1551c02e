"""Reading Singer messages: fast, and without ever dropping a line silently.

singer-sdk's reader parses every line with ``json.loads(parse_float=Decimal)`` and ends the
run at the first line that is not JSON. This reader reads the input as bytes (so a line of
invalid UTF-8 is one bad line, not the end of the run), decodes with msgspec (faster:
benchmarks/sdk_steps_benchmark.py) and hands every line it cannot use -- not UTF-8, not
JSON, nested too deeply, a number out of range, not a Singer message, an unknown message
type -- to ``on_bad_line``, which writes it to the rejects file. It counts input lines, so
rejects and errors can say where a message came from.

Numbers keep their exact value, as with the SDK's reader: one with a fraction or exponent is
a :class:`~decimal.Decimal` (as a float, source key ``9007199254740993.0`` would be
``9007199254740992``, another customer's key, and ``1e400`` infinite). Only STATE messages
keep floats: they go back out through the SDK's ``json.dumps``, which writes no Decimal.

``on_stop`` is told when the loop ends by an exception (a stop, a signal, a bug), so the
run's resources are released and its summary logged wherever the loop was interrupted.
"""

from __future__ import annotations

import io
import json
import re
import sys
import typing as t
from collections import Counter
from collections.abc import Iterable, Iterator
from decimal import Decimal

import msgspec
from singer_sdk.io_base import SingerReader
from typing_extensions import override

from recras_api.plugin.termination import stop_signals
from recras_api.redact import escape_controls
from target_recras.input.validation import Problem

#: The most digits a number may have before its point: those of the longest integer msgspec
#: reads (Python's limit on int-to-text conversion). A longer one could be neither sent to
#: Recras nor written as a key, and ``int()`` of ``1e999999999`` would not finish.
_MAX_DIGITS = 4300


def _exact_number(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, exactly."""
    number = Decimal(text)
    if number and number.adjusted() >= _MAX_DIGITS:
        msg = f"the number {text} has more than {_MAX_DIGITS} digits before its point"
        raise ValueError(msg)
    return number


#: Decodes one line of JSON (bytes or str); raises ``msgspec.DecodeError``.
decode_line = msgspec.json.Decoder(float_hook=_exact_number).decode
#: Decodes a STATE line, with floats.
_decode_state = msgspec.json.Decoder().decode


def _binary_lines(file_input: t.IO[t.Any] | None) -> Iterable[bytes | str]:
    """The input's lines, as bytes where the stream has a byte layer under it."""
    stream = sys.stdin if file_input is None else file_input
    buffer = getattr(stream, "buffer", None)
    if isinstance(buffer, io.BufferedIOBase | io.RawIOBase):
        return t.cast("Iterator[bytes]", buffer)
    return stream  # an in-memory text stream (tests, the SDK's test runner)


#: A UTF-16 surrogate: in a decoded string, always one without its pair.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(raw: bytes) -> tuple[Problem, str | None] | None:
    """Where a line holds a lone surrogate escape (``"\\ud800"``): the problem and stream.

    Such a line is JSON, but its text is not Unicode: msgspec refuses it, and neither Recras
    nor a UTF-8 file can take it. The record is rejected naming the field that holds it.
    """
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict):
        return None
    stream = message.get("stream")
    record = message.get("record")
    field = _surrogate_path(record, "") if isinstance(record, dict) else None
    if field is None:
        field = _surrogate_path(message, "")
    if field is None:
        return None
    reason = (
        f"the text of {field} is not valid Unicode (it holds half of a UTF-16 surrogate pair, "
        "alone), which Recras cannot store; fix the text in the source"
    )
    return Problem(reason, field), escape_controls(stream) if isinstance(stream, str) else None


def _surrogate_path(value: t.Any, path: str) -> str | None:
    """The path of the first string (or property name) in ``value`` with a surrogate."""
    if isinstance(value, str):
        return (path or "the line") if _SURROGATE.search(value) else None
    items: Iterable[tuple[str, t.Any]] = ()
    if isinstance(value, dict):
        for key in value:
            if _SURROGATE.search(key):
                name = escape_controls(key)
                return f"{path}.{name} (its name)" if path else f"{name} (its name)"
        items = ((f"{path}.{key}" if path else key, item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    return next((found for at, item in items if (found := _surrogate_path(item, at))), None)


def _why_unreadable(raw: bytes, exc: Exception) -> str:
    """The reason a line could not be decoded, in the user's terms."""
    if isinstance(exc, RecursionError):
        return "input line is nested too deeply to be a Singer message"
    if isinstance(exc, msgspec.ValidationError):
        return f"input line holds a number out of range ({exc})"
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
        #: Called with (line, problem, stream if known) for every line that is not a usable
        #: message.
        self.on_bad_line: t.Callable[[str, Problem, str | None], None] | None = None
        #: Called with the exception that ended the loop early, before it propagates.
        self.on_stop: t.Callable[[BaseException], None] | None = None
        #: The input ended and every message was dispatched.
        self.finished = False

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Dispatch every message to its callback; report the lines that are none."""
        try:
            counts = self._dispatch(_binary_lines(file_input), callbacks)
            # A stop signal from here on waits for the target's process_endofpipe, which
            # finishes the writes (recras_api.plugin.termination); nothing between would.
            stop_signals.hold()
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
                kind = message.get("type") if isinstance(message, dict) else None
                if kind == "STATE":
                    message = _decode_state(line)
            except (msgspec.DecodeError, RecursionError) as exc:
                raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
                found = _lone_surrogate(raw) if isinstance(exc, msgspec.DecodeError) else None
                if found is not None:
                    self._bad_line(line, *found)
                else:
                    self._bad_line(line, Problem(_why_unreadable(raw, exc), None))
                continue
            callback = callbacks.get(kind) if isinstance(kind, str) else None
            if callback is None or not isinstance(kind, str):
                what = f"unknown Singer message type {kind!r}" if kind else "not a Singer message"
                self._bad_line(line, Problem(f"input line is {what} (no usable 'type')", None))
                continue
            callback(message)
            counts[kind] += 1
        return counts

    def _bad_line(self, line: bytes | str, problem: Problem, stream: str | None = None) -> None:
        text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
        if self.on_bad_line is None:
            msg = f"input line {self.line_number}: {problem.reason}: {text[:200]!r}"
            raise ValueError(msg)
        self.on_bad_line(text.rstrip("\n"), problem, stream)
