"""Sinks: ``klanten`` records become Recras customers; other streams are rejected."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink, Sink
from typing_extensions import override

from target_recras.id_map import KeyKind
from target_recras.input import Problem, create_problem
from target_recras.writes import (
    RESERVED_FIELDS,
    UpsertJob,
    customer_identity,
    natural_map_key,
    record_klant_id,
    source_key_problem,
    source_map_key,
)

if TYPE_CHECKING:
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_recras.run import TargetSession
    from target_recras.target import TargetRecras

#: The one stream this target writes.
KLANTEN_STREAM = "klanten"
#: The entry of a record's context that holds its key properties: those of the source stream
#: it came from (after stream maps). Several streams mapped to ``klanten`` share its sink,
#: whose own key properties are those of the SCHEMA that came last.
KEY_PROPERTIES = "key_properties"


def unsupported_stream_hint(stream: str) -> str:
    """Why records of ``stream`` are refused, and how to fix it."""
    maps = json.dumps({"stream_maps": {stream: {"__alias__": KLANTEN_STREAM}}})
    return (
        f"stream '{stream}' is not supported: target-recras only writes customers from stream "
        f"'{KLANTEN_STREAM}'. If these records are Recras customers, rename the stream with "
        f"stream_maps, e.g. {maps}"
    )


class _RecrasSink(Sink):
    """Shared by both sinks: the session they report to; no SDK record validation."""

    def __init__(
        self,
        target: TargetRecras,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
    ) -> None:
        self.session: TargetSession = target.open_session()
        super().__init__(target, stream_name, schema, key_properties)

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """None: records are checked against the Recras body schema by the run instead.

        The stream's own schema says nothing about what Recras accepts (stream maps even
        type computed arrays as strings), and the SDK's validator would stop the run at the
        first bad record instead of rejecting it.
        """
        return None


class KlantenSink(_RecrasSink, BatchSink):
    """Validates each record, plans its upsert and hands it to the writer threads.

    Writing starts at once, so a "batch" only marks when the SDK waits for the writes to
    finish: when it drains (size limit, record age, end of input).
    """

    @override
    def setup(self) -> None:
        """Say which source key the stream's records are upserted by."""
        super().setup()
        # Per key properties: the source key and the fields not to warn about (those sent,
        # the source key, and those warned about already).
        self._source_keys: dict[tuple[str, ...], tuple[list[str], set[str]]] = {}
        self._warned: set[str] = set()
        source_keys, _ = self._source_key(self.key_properties)
        if source_keys:
            self.logger.info(
                "Upserting by source key %s (id map %s).",
                ", ".join(source_keys),
                self.session.id_map.name,
            )

    def _source_key(self, key_properties: Sequence[str] | None) -> tuple[list[str], set[str]]:
        """The source key (the key properties but ``id``) and the fields not warned about."""
        keys = tuple(key_properties or ())
        found = self._source_keys.get(keys)
        if found is None:
            names = [name for name in keys if name != "id"]
            found = self._source_keys[keys] = (names, set(RESERVED_FIELDS) | set(names))
        return found

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Reject an invalid record; queue a valid one for writing."""
        session = self.session
        session.stats.read += 1
        source_keys, expected_fields = self._source_key(context[KEY_PROPERTIES])
        problem = session.validator.check(record) or source_key_problem(record, source_keys)
        if problem is not None:
            session.reject(problem, stream=self.stream_name, record=record)
            return
        self._warn_unsent_fields(record, expected_fields)
        klant_id = record_klant_id(record)
        map_key, kind, identity = None, None, None
        if source_keys:
            map_key, kind = source_map_key(record, source_keys), KeyKind.SOURCE
        elif klant_id is None:
            # Without a source key or id the record can only create (or merge).
            problem = create_problem(record)
            if problem is not None:
                session.reject(problem, stream=self.stream_name, record=record)
                return
            identity = customer_identity(record.get("naam"), record["contactpersonen"])
            map_key, kind = natural_map_key(identity), KeyKind.NATURAL
        session.submit(
            UpsertJob(
                seq=session.checkpoints.start(),
                input_line=session.input_line(),
                stream=self.stream_name,
                record=record,
                klant_id=klant_id,
                map_key=map_key,
                kind=kind,
                identity=identity,
            )
        )

    @override
    def process_batch(self, context: dict) -> None:
        """Wait until every record handed over is written or rejected."""
        self.session.wait()

    def _warn_unsent_fields(self, record: dict[str, Any], expected_fields: set[str]) -> None:
        """Warn once per field about fields that are neither sent nor the source key."""
        if expected_fields.issuperset(record):
            return
        unsent = record.keys() - expected_fields
        expected_fields |= unsent
        unsent -= self._warned
        if not unsent:
            return
        self._warned |= unsent
        self.logger.warning(
            "Field(s) %s of stream %s are not part of the Recras customer shape and are not sent.",
            ", ".join(sorted(unsent)),
            self.stream_name,
        )


class UnsupportedStreamSink(_RecrasSink):
    """Any stream but ``klanten``: every record is rejected with a hint."""

    @override
    def setup(self) -> None:
        """Say once, up front, what is wrong with the stream."""
        super().setup()
        self.hint = unsupported_stream_hint(self.stream_name)
        self.logger.warning("Records will be rejected: %s", self.hint)

    @override
    def process_record(self, record: dict, context: dict) -> None:
        """Reject the record."""
        self.session.stats.read += 1
        self.session.reject(Problem(self.hint, None), stream=self.stream_name, record=record)

    @override
    def process_batch(self, context: dict) -> None:
        """Nothing is ever queued."""
