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
import logging
import math
import re
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage, SchemaMessage
from typing_extensions import override

from recras_api.errors import RecrasInvalidResponseError
from recras_api.plugin.termination import stop_signals, write_all

#: Records are written in pieces of about this size.
BUFFER_BYTES = 64 * 1024
#: Half of a UTF-16 surrogate pair, alone: JSON can spell one (``"\\ud800"``), UTF-8 cannot
#: encode it. In a Python string every surrogate is a lone one.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: What a lone surrogate becomes: U+FFFD REPLACEMENT CHARACTER.
REPLACEMENT = "\ufffd"

logger = logging.getLogger("tap-recras")


def encodable_record(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with every lone surrogate in its text replaced by U+FFFD, with a warning.

    Called when a record could not be encoded (UTF-8 has no lone surrogates): rather than
    end the run there, on the same customer at every rerun, the customer goes out with the
    replacement character where Recras's text was broken, and the warning names where.
    """
    fields: list[str] = []
    repaired = _without_lone_surrogates(record, "", fields)
    who = ", ".join(f"{key} {record[key]}" for key in ("klant_id", "id") if key in record)
    logger.warning(
        "Recras sent text that is not valid Unicode (a lone surrogate) in %s record %s, "
        "field(s) %s; it is written with U+FFFD in its place.",
        stream,
        who or "(no id)",
        ", ".join(fields),
    )
    return cast("dict[str, Any]", repaired)


def non_finite_number_error(stream: str, record: dict[str, Any]) -> RecrasInvalidResponseError:
    """The error for a record holding ``NaN`` or ``Infinity``, naming the record and fields.

    JSON has no such numbers; msgspec would write a float one as null, a ``Decimal`` one
    (as the client decodes them) not at all. Either way the value Recras sent is lost.
    """
    fields: list[str] = []
    _find_non_finite(record, "", fields)
    who = ", ".join(f"{key} {record[key]}" for key in ("klant_id", "id") if key in record)
    msg = (
        f"Recras sent a number JSON has no value for (NaN or Infinity) in {stream} record "
        f"{who or '(no id)'}, field(s) {', '.join(fields)}; stopping rather than writing "
        "null in its place."
    )
    return RecrasInvalidResponseError(msg)


def _find_non_finite(value: Any, path: str, fields: list[str]) -> None:
    if isinstance(value, Decimal | float) and not math.isfinite(value):
        fields.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _find_non_finite(item, f"{path}.{key}" if path else str(key), fields)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_non_finite(item, f"{path}[{index}]", fields)


def _without_lone_surrogates(value: Any, path: str, fields: list[str]) -> Any:
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            fields.append(path)
            return _LONE_SURROGATE.sub(REPLACEMENT, value)
        return value
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key, f"{path}.(name)", fields): _without_lone_surrogates(
                item, f"{path}.{key}" if path else str(key), fields
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _without_lone_surrogates(item, f"{path}[{index}]", fields)
            for index, item in enumerate(value)
        ]
    return value


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

    @override
    def write_message(self, message: Message) -> None:
        """Buffer a record; write anything else at once, after the buffered records."""
        if isinstance(message, SchemaMessage):
            key = (message.schema, message.key_properties, message.bookmark_properties)
            if self._last_schema.get(message.stream) == key:
                return
            self._last_schema[message.stream] = copy.deepcopy(key)
        try:
            line = self.format_message(message)
        except UnicodeEncodeError:
            if not isinstance(message, RecordMessage):
                raise
            message.record = encodable_record(message.stream, message.record)
            line = self.format_message(message)
        self._buffer += line
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
        try:
            encoder.encode_into(message, line)
        except UnicodeEncodeError:
            message["record"] = encodable_record(stream, record)
            encoder.encode_into(message, line)
        except ValueError:
            raise non_finite_number_error(stream, record) from None
        line += b"\n"
        # One step: a signal handler that flushes never sees half a line.
        self._buffer += line
        if len(self._buffer) >= BUFFER_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the buffered lines to stdout and flush it.

        A stop signal waits until every line is out (:mod:`recras_api.plugin.termination`).
        """
        if not self._buffer:
            return
        with stop_signals.held():
            write_all(sys.stdout.buffer, self._buffer)
            self._buffer.clear()
