"""How Singer messages reach stdout: msgspec-encoded, buffered, flushed at every STATE.

The SDK's msgspec writer flushes stdout after every message: one system call per record,
more than the encoding itself costs (and with ``PYTHONUNBUFFERED=1``, which Meltano and many
containers set, stdout has no buffer of its own to soften that). RECORD lines here collect
in a buffer of :data:`BUFFER_BYTES`; every other message (SCHEMA, STATE, ACTIVATE_VERSION)
writes the buffer out first and then itself, and flushes. Order is kept, so whoever reads a
STATE line has read every record before it, and a run killed midway loses only records that
no emitted STATE covers.

:meth:`BufferedMsgSpecWriter.write_record` writes a RECORD line from its parts, without the
SDK's message object and its ``to_dict`` (a large share of the tap's time per record): the
same dict, encoded by the SDK's own msgspec encoder, so the bytes are those the SDK writes.
"""

from __future__ import annotations

import atexit
import copy
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage, SchemaMessage

#: Records are written in pieces of about this size.
BUFFER_BYTES = 64 * 1024


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec writer that buffers records and drops repeats of an unchanged SCHEMA."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._line = bytearray()  # one encoded line, added to the buffer in one step
        # A child stream is synced once per parent record, and the SDK sends its SCHEMA on
        # every sync: one line per customer. Only a changed schema is worth a line (and the
        # check comes before encoding, which deep-copies the schema).
        self._last_schema: dict[str, tuple[Any, ...]] = {}
        # Records after the last STATE still reach the target when the run ends in an error.
        atexit.register(self.flush)
        # A signal handler must not write while a write is under way (a reentrant write
        # fails, or splits a line): it hands its action over, to run once the write is done.
        self._writing = False
        self._after_write: Callable[[], None] | None = None

    def when_idle(self, action: Callable[[], None]) -> None:
        """Run ``action`` now, or right after the write in progress (for signal handlers)."""
        if self._writing:
            self._after_write = action
        else:
            action()

    def write_message(self, message: Message) -> None:
        """Buffer a record; write anything else at once, after the buffered records."""
        if isinstance(message, SchemaMessage):
            key = (message.schema, message.key_properties, message.bookmark_properties)
            if self._last_schema.get(message.stream) == key:
                return
            self._last_schema[message.stream] = copy.deepcopy(key)
        self._buffer += self.format_message(message)
        if len(self._buffer) >= BUFFER_BYTES or not isinstance(message, RecordMessage):
            self.flush()

    def write_record(
        self, stream: str, record: dict[str, Any], version: int | None, time_extracted: datetime
    ) -> None:
        """Buffer the RECORD line the SDK writes for ``RecordMessage`` of these values.

        ``time_extracted`` must be in UTC (the message object converts it; this does not).
        """
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = time_extracted
        line = self._line
        encoder.encode_into(message, line)
        line += b"\n"
        # One step: a signal handler that flushes never sees half a line.
        self._buffer += line
        if len(self._buffer) >= BUFFER_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines to stdout and flush it."""
        if self._buffer:
            self._writing = True
            try:
                out = sys.stdout.buffer
                written = 0
                with memoryview(self._buffer) as lines:
                    # Unbuffered (PYTHONUNBUFFERED=1) this is the raw file, whose write may
                    # take only part: a signal that interrupts a write to a full pipe.
                    while written < len(lines):
                        written += out.write(lines[written:])
                out.flush()
                self._buffer.clear()
            finally:
                self._writing = False
        if self._after_write is not None:
            action, self._after_write = self._after_write, None
            action()
