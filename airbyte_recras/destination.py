"""``destination-recras``: target-recras speaking the Airbyte protocol, in-process.

``write`` runs the Singer target on a translation of its input, so every rule of
target-recras (validation, rejects file, id map, upserts, checkpoints) applies unchanged:

* the configured catalog becomes one SCHEMA per stream, whose key properties are the
  stream's primary key (the *source key* the id map matches records by);
* each Airbyte RECORD becomes a Singer RECORD without its ``_airbyte_*`` columns (PyAirbyte
  and Airbyte's own caches add ``_airbyte_raw_id``, ``_airbyte_extracted_at``, ...);
* each Airbyte STATE becomes a Singer STATE, so the target's checkpoints hold it back
  until every record before it is written or rejected. The target emits only the newest
  STATE that is safe (several may become safe at once), while Airbyte state is per stream:
  so each Singer STATE carries the newest Airbyte STATE of *every* stream seen so far, and
  when the target emits it, each of those that was not echoed yet goes out unchanged.

``append`` and ``append_dedup`` both upsert: Recras keeps one customer per source key, so
a record whose key was written before updates that customer. ``overwrite`` is refused
(the target never deletes customers). A dry run (``dry_run``) echoes no STATE.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from typing import IO, Any, NoReturn, cast

import msgspec
from typing_extensions import override

from airbyte_recras.command import main_for, read_config, read_json, run
from airbyte_recras.failures import ConnectorInputError, describe
from airbyte_recras.output import AirbyteOutput
from airbyte_recras.spec import spec_message
from recras_api.client import RecrasClient
from recras_api.redact import scrub
from tap_recras.inputs import MAX_ID
from target_recras.input import Problem
from target_recras.options import TargetOptions
from target_recras.target import TargetRecras

PROG = "destination-recras"
SYNC_MODES = ("append", "append_dedup")
#: Prefix of the columns Airbyte adds to records; they are never sent to Recras.
AIRBYTE_COLUMNS = "_airbyte_"
#: Where a Singer STATE made from Airbyte STATEs carries them (see the module docstring).
AIRBYTE_STATES = "airbyte_states"
#: Airbyte lines in, Singer lines out, every number exact (fractions as Decimal).
_decode_line = msgspec.json.Decoder(float_hook=Decimal).decode
_encode_message = msgspec.json.Encoder(decimal_format="number").encode
#: Airbyte messages a destination may receive that carry nothing to write.
_IGNORED_TYPES = frozenset({"LOG", "TRACE", "CONTROL", "SPEC", "CATALOG", "CONNECTION_STATUS"})

logger = logging.getLogger(PROG)


class AirbyteTargetRecras(TargetRecras):
    """target-recras whose STATE output is the Airbyte STATEs its input STATE carried."""

    def __init__(
        self, *, output: AirbyteOutput, lines: SingerInput | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.output = output
        self._lines = lines
        self._echoed: dict[str, Any] = {}

    @override
    def input_line_number(self) -> int:
        """The Airbyte input line being handled (the SCHEMAs made from the catalog are 0)."""
        return self._lines.input_line if self._lines is not None else super().input_line_number()

    @override
    def handle_state_message(self, message: dict[str, Any]) -> None:
        """Queue an Airbyte STATE; reject any other STATE line (a Singer tap's, say).

        Every Airbyte STATE reaches the target as a Singer STATE made by
        :class:`SingerInput`; a STATE line that is not an Airbyte message is handed on as it
        is, and its value has nothing to echo.
        """
        value = message.get("value")
        if isinstance(value, dict) and isinstance(value.get(AIRBYTE_STATES), dict):
            super().handle_state_message(message)
            return
        problem = Problem(
            'a STATE line that is not an Airbyte STATE message ({"type": "STATE", '
            '"state": {...}}); destination-recras echoes Airbyte state only',
            None,
        )
        self.open_session().reject(
            problem, stream=None, line=json.dumps(message, ensure_ascii=False, default=str)
        )

    def show_summary(self, stream: IO[str]) -> None:
        """The run's summary (created, updated, unchanged, rejected, ...) on ``stream``.

        ``stream`` is stderr: PyAirbyte keeps a destination's LOG messages in a log file of
        its own, but passes the destination's stderr on to its user's process, so the counts
        and the rejects file are shown there too. Nothing if no record came (no run opened).
        """
        session = self._session
        if session is None or session.summary is None:
            return
        text = f"{PROG} summary: {session.summary}\n"
        if session.rejects.count:
            text += f"{PROG}: the rejected records and the reasons are in {session.rejects.path}\n"
        try:
            stream.write(scrub(text))
            stream.flush()
        except OSError:  # nobody reads stderr any more (the caller stopped us): the LOG has it
            pass

    @override
    def write_state_to_stdout(self, state: dict[str, Any]) -> None:
        """Echo the Airbyte STATEs not echoed yet: every record before them is done.

        Called under the target's checkpoint lock, so STATEs leave in input order.
        """
        for key, airbyte_state in state[AIRBYTE_STATES].items():
            if self._echoed.get(key) != airbyte_state:
                self.output.emit({"type": "STATE", "state": airbyte_state})
                self._echoed[key] = airbyte_state


def schema_messages(catalog: Any) -> list[dict[str, Any]]:
    """A Singer SCHEMA per configured stream: its schema and its primary key as key properties."""
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise ConnectorInputError("The catalog must be a configured catalog: {'streams': [...]}")
    messages = []
    for item in catalog["streams"]:
        stream = item.get("stream") or {}
        name = stream.get("name")
        mode = item.get("destination_sync_mode")
        if mode not in SYNC_MODES:
            raise ConnectorInputError(
                f"Stream {name}: destination_sync_mode {mode!r} is not supported; use "
                "append or append_dedup (both upsert: Recras keeps one customer per source key, "
                "and destination-recras never deletes customers)"
            )
        primary_key = item.get("primary_key") or stream.get("source_defined_primary_key") or []
        if any(not isinstance(path, list) or len(path) != 1 for path in primary_key):
            raise ConnectorInputError(
                f"Stream {name}: primary key {primary_key!r} must name top-level fields "
                "(e.g. [['external_id']])"
            )
        if mode == "append_dedup" and not primary_key:
            raise ConnectorInputError(
                f"Stream {name}: append_dedup needs a primary key (the source key the id map "
                "matches customers by)"
            )
        schema = dict(stream.get("json_schema") or {})
        schema["properties"] = {
            key: value
            for key, value in (schema.get("properties") or {}).items()
            if not key.startswith(AIRBYTE_COLUMNS)
        }
        messages.append(
            {
                "type": "SCHEMA",
                "stream": name,
                "schema": schema,
                "key_properties": [path[0] for path in primary_key],
            }
        )
    return messages


class SingerInput:
    """The target's input: Singer lines made from Airbyte lines, iterated once.

    First the SCHEMAs, then one line per Airbyte RECORD or STATE. Numbers keep their exact
    value on the way (a float would turn the key ``9007199254740993.0`` into another
    customer's). A line that is not an Airbyte message is handed on as it is: the target's
    reader writes it to the rejects file with the reason. :attr:`input_line` is the number
    of the Airbyte line the last Singer line came from, so rejects and errors name the
    user's line, not the target's.
    """

    def __init__(self, schemas: list[dict[str, Any]], airbyte_lines: Iterable[bytes]) -> None:
        self._schemas = schemas
        self._airbyte_lines = airbyte_lines
        #: The Airbyte input line being handled (0: a SCHEMA made from the catalog).
        self.input_line = 0

    def __iter__(self) -> Iterator[str]:
        for schema in self._schemas:
            yield _encode_line(schema)
        latest: dict[str, Any] = {}
        for number, raw in enumerate(self._airbyte_lines, start=1):
            self.input_line = number
            message = _decoded(raw)
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "RECORD" and isinstance(message.get("record"), dict):
                record = message["record"]
                data = record.get("data")
                if isinstance(data, dict):
                    data = {k: v for k, v in data.items() if not k.startswith(AIRBYTE_COLUMNS)}
                yield _encode_line(
                    {"type": "RECORD", "stream": record.get("stream"), "record": data}
                )
            elif kind == "STATE" and isinstance(message.get("state"), dict):
                latest[_state_key(message["state"])] = message["state"]
                yield _encode_line({"type": "STATE", "value": {AIRBYTE_STATES: latest}})
            elif kind not in _IGNORED_TYPES:
                yield raw.decode("utf-8", "surrogateescape")


def _decoded(raw: bytes) -> Any:
    """An Airbyte line's message (None if it is not JSON), every number exact.

    msgspec refuses a lone surrogate escape (``"\\ud800"``), which is JSON all the same:
    such a line is read with :mod:`json`, so the target can reject it naming its field.
    """
    try:
        return _decode_line(raw)
    except msgspec.DecodeError:
        try:
            return json.loads(raw, parse_float=Decimal)
        except (ValueError, RecursionError):
            return None


def _encode_line(message: dict[str, Any]) -> str:
    try:
        return _encode_message(message).decode("utf-8") + "\n"
    except UnicodeEncodeError:
        # Text that is not Unicode (a lone surrogate): JSON escapes it, and the target
        # rejects the line naming the field; a fraction is shown as text in the reject.
        return json.dumps(message, default=str) + "\n"


def _state_key(state: dict[str, Any]) -> str:
    """What a STATE is the state of: its stream (name and namespace), or the whole sync."""
    stream = state.get("stream")
    if state.get("type") == "STREAM" and isinstance(stream, dict):
        descriptor = stream.get("stream_descriptor") or {}
        return json.dumps([descriptor.get("namespace"), descriptor.get("name")])
    return json.dumps(state.get("type") or "LEGACY")


def _target(
    config: dict[str, Any], output: AirbyteOutput, lines: SingerInput | None = None
) -> AirbyteTargetRecras:
    return AirbyteTargetRecras(
        config=config, parse_env_config=False, validate_config=True, output=output, lines=lines
    )


def spec(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """SPEC: the target's settings and the sync modes it supports."""
    output.emit(
        spec_message(
            TargetRecras,
            "Recras destination",
            supported_destination_sync_modes=list(SYNC_MODES),
        )
    )


def check(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """CONNECTION_STATUS: the config is valid and (unless a dry run) Recras lists customers."""
    try:
        config = read_config(args.config)
        _target(config, output)
        options = TargetOptions.from_config(config)
        if options.connection is None:
            output.connection_status(
                succeeded=True, message="Dry run without credentials: nothing will be sent."
            )
            return
        client = RecrasClient(options.connection, logger, pool_size=1)
        try:
            list(islice(client.iter_klanten(MAX_ID), 1))
        finally:
            client.close()
    except Exception as exc:  # every failure is an answer to check
        logger.info("check failed: %s", describe(exc))
        output.connection_status(succeeded=False, message=describe(exc))
        return
    output.connection_status(
        succeeded=True,
        message=(
            f"Recras at {options.connection.base_url} lists customers. Writes also need the "
            "editContact permission, which only a write can show."
        ),
    )


def write(args: argparse.Namespace, output: AirbyteOutput) -> None:
    """Upsert the RECORDs on stdin; echo each STATE once the records before it are done.

    The summary is a LOG message and, for PyAirbyte's user, a line on stderr.
    """
    config = read_config(args.config)
    schemas = schema_messages(read_json(args.catalog, "catalog"))
    lines = SingerInput(schemas, sys.stdin.buffer)
    target = _target(config, output, lines)
    try:
        target.listen(file_input=cast("IO[str]", lines))
    finally:  # also the counts so far of a run that failed or was stopped
        target.show_summary(sys.stderr)


COMMANDS = {"spec": spec, "check": check, "write": write}


def main() -> NoReturn:
    """The ``destination-recras`` console script."""
    main_for(PROG, COMMANDS)


if __name__ == "__main__":
    raise SystemExit(run(PROG, COMMANDS))
