"""Incremental parsing of a JSON array, one item (or one decoded run of items) at a time.

``GET /api2/klanten`` answers with one JSON array of every customer. Parsing it whole would
hold the full body and every item in memory at once; this parser keeps only the unparsed tail
of the body, so memory stays flat however long the list is.

Why not ijson: its C backend streams the customer list about as fast as this parser does,
but a short hostile body takes it past any memory bound. ijson keeps a prefix string per
nesting level, so its memory grows with the square of the depth, and guarding it would take
a scanner of our own in front of it; here each item is decoded by :mod:`json`, whose
recursion limit makes a deep item a clear :class:`JSONStreamError`.
``benchmarks/jsonstream_benchmark.py`` measures both; the numbers are in
``benchmarks/README.md``.

Speed: decoding one item at a time with :mod:`json` was the largest share of the tap's run
time. Where the buffer holds several whole objects, the run up to the last ``},`` is decoded
at once by msgspec, wrapped in brackets. That decode succeeds only if the cut lies between two
items (a ``},`` inside a string or a nested value leaves a string or a bracket open), and
wherever msgspec decodes JSON at all it gives what :mod:`json` gives. Anything msgspec
refuses (a cut inside an item, ``NaN``, ``1e400``, a lone surrogate escape, a deep item, broken
JSON) is read item by item by :mod:`json` as before, so errors and the values :mod:`json`
alone accepts are unchanged, and a buffer the batch decode failed on is not tried again.

``parse_float`` is :func:`json.loads`'s: :class:`~decimal.Decimal` decodes numbers with a
fraction exactly (both decoders call it with the number's text).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any

import msgspec

#: The longest item (in characters) accepted: a Recras customer is a few kB; anything near this
#: is a broken or hostile body, and reading on would hold it all in memory.
MAX_ITEM_CHARS = 16 * 1024 * 1024

_WHITESPACE = " \t\n\r"
_NUMBER_CHARS = "0123456789+-.eE"
#: Where an object item ends and another item follows: the end of a candidate batch.
_OBJECT_END = "},"
_BATCH_DECODER = msgspec.json.Decoder()
#: What a number with a fraction becomes: the text of the number in, a value out.
ParseFloat = Callable[[str], Any]


class JSONStreamError(ValueError):
    """The stream is not a well-formed JSON array."""

    def __init__(self, message: str, items_parsed: int) -> None:
        super().__init__(f"{message} (after {items_parsed} items)")
        self.items_parsed = items_parsed


def iter_json_array(chunks: Iterable[bytes], parse_float: ParseFloat = float) -> Iterator[Any]:
    """Yield the items of the JSON array whose UTF-8 text arrives in ``chunks``."""
    return chain.from_iterable(_ArrayReader(chunks, parse_float).batches())


def iter_json_array_batches(
    chunks: Iterable[bytes], parse_float: ParseFloat = float
) -> Iterator[list[Any]]:
    """The items of the JSON array in ``chunks``, in lists of those decoded together."""
    return _ArrayReader(chunks, parse_float).batches()


class _ArrayReader:
    """Holds the unparsed tail of the body and hands out the items in the runs decoded together."""

    def __init__(self, chunks: Iterable[bytes], parse_float: ParseFloat) -> None:
        self._source = iter(chunks)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        # NaN and Infinity (not JSON, yet :mod:`json` takes them) go through parse_float too:
        # float gives json's own values; Decimal keeps them apart from null on the way out.
        self._decoder = json.JSONDecoder(parse_float=parse_float, parse_constant=parse_float)
        self._batch_decoder = (
            _BATCH_DECODER if parse_float is float else msgspec.json.Decoder(float_hook=parse_float)
        )
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._count = 0
        # The buffer before this position is read item by item: a batch decode failed on it
        # or found no object end in it (trying it again would make parsing quadratic).
        self._one_by_one_until = 0

    def batches(self) -> Iterator[list[Any]]:
        try:
            if self._peek() != "[":
                raise self._error("expected a JSON array")
            self._pos += 1
            if self._peek() == "]":
                self._pos += 1
            else:
                while True:
                    if not self._peek():
                        raise self._error("the array is not closed")
                    batch = self._decode_batch()
                    yield batch or [self._decode_item()]
                    separator = self._peek()
                    self._pos += 1
                    if separator == "]":
                        break
                    if separator != ",":
                        raise self._error(f"expected ',' or ']', got {separator!r}")
            if self._peek():
                raise self._error("unexpected data after the array")
        except UnicodeDecodeError as exc:
            raise self._error(f"body is not UTF-8: {exc.reason}") from exc

    def _error(self, message: str) -> JSONStreamError:
        return JSONStreamError(message, self._count)

    def _more(self) -> bool:
        """Append the next chunk, dropping what is already parsed; False at the end."""
        if self._eof:
            return False
        tail = self._buffer[self._pos :]
        self._one_by_one_until = max(self._one_by_one_until - self._pos, 0)
        self._pos = 0
        for chunk in self._source:
            if chunk:
                self._buffer = tail + self._utf8.decode(chunk)
                return True
        self._buffer = tail + self._utf8.decode(b"", final=True)
        self._eof = True
        return False

    def _peek(self) -> str:
        """Skip whitespace; return the next character, or '' at the end of the stream."""
        while True:
            buffer, pos = self._buffer, self._pos
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            self._pos = pos
            if pos < len(buffer):
                return buffer[pos]
            if not self._more():
                return ""

    def _grow(self) -> bool:
        """Read until the unparsed tail has doubled (or the body ended); False if it cannot.

        Doubling keeps re-parsing a long item linear in its size; the tail may never exceed
        :data:`MAX_ITEM_CHARS`, so one endless item cannot take all memory.
        """
        tail = len(self._buffer) - self._pos
        target = max(2 * tail, tail + 1)
        grew = False
        while len(self._buffer) - self._pos < target:
            if len(self._buffer) - self._pos > MAX_ITEM_CHARS:
                raise self._error(
                    f"invalid JSON: an item is longer than {MAX_ITEM_CHARS} characters"
                )
            if not self._more():
                return grew
            grew = True
        return grew

    def _runs_to_end(self, end: int) -> bool:
        buffer = self._buffer
        while end < len(buffer) and buffer[end] in _NUMBER_CHARS:
            end += 1
        return end == len(buffer)

    def _decode_batch(self) -> list[Any]:
        """Every whole item from here to the buffer's last ``},``, or [] (read one by one)."""
        if self._pos < self._one_by_one_until:
            return []
        end = self._buffer.rfind(_OBJECT_END, self._pos)
        if end < 0 and self._more():
            # The rest of the buffer is the start of an item cut by the chunk edge: with the
            # next chunk it ends a batch too, instead of going to json one by one.
            end = self._buffer.rfind(_OBJECT_END, self._pos)
        buffer, pos = self._buffer, self._pos
        if end < 0:
            self._one_by_one_until = len(buffer)
            return []
        try:
            items: list[Any] = self._batch_decoder.decode("[" + buffer[pos : end + 1] + "]")
        except (msgspec.DecodeError, RecursionError):
            self._one_by_one_until = len(buffer)
            return []
        self._pos = end + 1  # at the ',' after the last item
        self._count += len(items)
        return items

    def _decode_item(self) -> Any:
        while True:
            try:
                item, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                # Usually the item is merely cut by the chunk edge: read on and parse again.
                if not self._grow():
                    raise self._error(f"invalid JSON: {exc.msg}") from exc
                continue
            except RecursionError:
                # Not chained: the RecursionError's traceback would bury the message.
                raise self._error("invalid JSON: an item is nested too deeply") from None
            # Objects, arrays and strings end with a closing character; a number that reaches
            # the end of the buffer (say "1" of "1.5e3") may go on in the next chunk.
            if not isinstance(item, dict | list | str) and self._runs_to_end(end) and self._more():
                continue
            self._pos = end
            self._count += 1
            return item
