"""``source-recras``: tap-recras speaking the Airbyte protocol, in-process.

``spec`` answers the tap's settings (:mod:`airbyte_recras.spec`); ``check`` validates the
config and lists one page of customers; ``discover`` translates the tap's catalog;
``read`` runs the tap with a Singer catalog and state translated from Airbyte's
(:mod:`airbyte_recras.streams`) and a message writer, :class:`AirbyteMessageWriter`, that
turns each Singer message into Airbyte messages as the tap writes it.
"""

from __future__ import annotations

import argparse
import logging
from itertools import islice
from typing import Any, NoReturn

from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage, StateMessage
from typing_extensions import override

from airbyte_recras import streams
from airbyte_recras.command import main_for, read_config, read_json, run
from airbyte_recras.failures import describe
from airbyte_recras.output import AirbyteOutput, now_ms
from airbyte_recras.spec import spec_message
from tap_recras.inputs import MAX_ID
from tap_recras.output import encodable_record
from tap_recras.tap import TapRecras

PROG = "source-recras"
#: Records are written in pieces of about this size (one write per piece, not per record).
BUFFER_BYTES = 64 * 1024

logger = logging.getLogger(PROG)


class AirbyteMessageWriter(GenericSingerWriter[bytes, Message]):
    """The tap's message writer: Singer RECORD and STATE out as Airbyte RECORD and STATE.

    SCHEMA and ACTIVATE_VERSION have no Airbyte counterpart (the schema is in the catalog;
    a full refresh replaces the data anyway) and are dropped. Records collect in a buffer
    that is written before every STATE, so a STATE always follows its records.
    """

    def __init__(self, output: AirbyteOutput, incremental: list[streams.OfferedStream]) -> None:
        self.output = output
        #: The streams read incrementally: each gets a STATE of its own.
        self.incremental = incremental
        self._position_streams = {stream.position_stream for stream in incremental}
        self._buffer = bytearray()
        self._counts: dict[str, int] = {}
        # Each stream's position in its last STATE: one that says nothing new is not repeated,
        # unless records of the stream were written since (no record may follow its last STATE).
        self._last_positions: dict[str, dict[str, Any]] = {}

    @override
    def serialize_message(self, message: Message) -> bytes:
        """The Airbyte lines for one Singer message (empty for those without a counterpart)."""
        if isinstance(message, RecordMessage):
            self._counts[message.stream] = self._counts.get(message.stream, 0) + 1
            record = {"stream": message.stream, "data": message.record, "emitted_at": now_ms()}
            try:
                return AirbyteOutput.encode({"type": "RECORD", "record": record})
            except UnicodeEncodeError:
                record["data"] = encodable_record(message.stream, message.record)
                return AirbyteOutput.encode({"type": "RECORD", "record": record})
        if isinstance(message, StateMessage):
            return b"".join(map(AirbyteOutput.encode, self._state_messages(message.value)))
        return b""

    def _state_messages(self, singer_state: Any) -> list[dict[str, Any]]:
        """A STATE per incremental stream whose position moved or that had records since."""
        positions = streams.resume_positions(singer_state, self._position_streams)
        messages = []
        for stream in self.incremental:
            count = self._counts.get(stream.name, 0)
            position = positions.get(stream.position_stream)
            if not count and (
                position is None or position == self._last_positions.get(stream.name)
            ):
                continue
            # Nothing to resume from yet (a first read): {}, which reads from the start.
            self._last_positions[stream.name] = position or {}
            messages.append(stream.state_message(position or {}, count))
        self._counts = {}
        return messages

    @override
    def write_message(self, message: Message) -> None:
        """Buffer a record; write the buffer before a STATE and with it."""
        self._buffer += self.serialize_message(message)
        if len(self._buffer) >= BUFFER_BYTES or isinstance(message, StateMessage):
            self.flush()

    def flush(self) -> None:
        """Write what is buffered."""
        data, self._buffer = bytes(self._buffer), bytearray()
        self.output.write(data)


def _tap(config: dict[str, Any], **kwargs: Any) -> TapRecras:
    return TapRecras(config=config, parse_env_config=False, validate_config=True, **kwargs)


def _discovering_tap(config: dict[str, Any]) -> TapRecras:
    """A tap for its settings, client and catalog only: without stream maps, as the SDK's own
    ``--discover`` makes it. The maps are built against each stream's selected schema, and
    most streams are not selected in the discovered catalog: a map of one would not build.
    """
    return _tap(config, setup_mapper=False)


def spec(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """SPEC: the tap's settings."""
    output.emit(spec_message(TapRecras, "Recras source", supportsIncremental=True))


def check(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """CONNECTION_STATUS: SUCCEEDED once the config is valid and Recras lists customers."""
    try:
        tap = _discovering_tap(read_config(args.config))
        # id> near the top of the id range: an empty (or tiny) list, but a real request
        # with the credentials and every check the client makes of an answer.
        list(islice(tap.client.iter_klanten(MAX_ID), 1))
    except Exception as exc:  # every failure is an answer to check
        logger.info("check failed: %s", describe(exc))
        output.connection_status(succeeded=False, message=describe(exc))
        return
    output.connection_status(
        succeeded=True, message=f"Recras at {tap.client.settings.base_url} lists customers."
    )


def discover(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """CATALOG: the tap's streams."""
    tap = _discovering_tap(read_config(args.config))
    catalog = streams.SourceStreams.of_tap(tap).airbyte_catalog()
    output.emit({"type": "CATALOG", "catalog": catalog})


def read(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """RECORD and STATE messages of the configured streams."""
    config = read_config(args.config)
    discovered = _discovering_tap(config)
    offer = streams.SourceStreams.of_tap(discovered)
    modes = offer.configured_modes(read_json(args.catalog, "catalog"))
    state = offer.singer_state(read_json(args.state, "state"), modes)
    catalog = offer.singer_catalog(discovered.catalog_dict, modes)
    writer = AirbyteMessageWriter(output, offer.incremental(modes))
    tap = _tap(config, catalog=catalog, state=state, message_writer=writer)
    try:
        tap.sync_all()
    finally:
        writer.flush()


COMMANDS = {"spec": spec, "check": check, "discover": discover, "read": read}


def main() -> NoReturn:
    """The ``source-recras`` console script."""
    main_for(PROG, COMMANDS)


if __name__ == "__main__":
    raise SystemExit(run(PROG, COMMANDS))
