"""target-recras: create and update Recras customers from Singer ``klanten`` records."""

from __future__ import annotations

import copy
import json
import sys
import threading
from typing import Any

from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities
from singer_sdk.target_base import Target
from typing_extensions import override

from recras_api import RecrasConfigError
from recras_api.plugin.sdk_compat import SecretSafeConfigValidation
from recras_api.plugin.settings import (
    connection_properties,
    max_workers_property,
    request_metrics_property,
)
from recras_api.plugin.termination import Stopped, stop_signals
from recras_api.settings import DISTRIBUTION
from target_recras.errors import TargetStopError
from target_recras.input import BatchError, Problem, RecrasMessageReader, batch_lines
from target_recras.options import (
    DEFAULT_ID_MAP_LOCK_TIMEOUT,
    DEFAULT_ID_MAP_PATH,
    DEFAULT_REJECTS_PATH,
    USER_AGENT,
    TargetOptions,
)
from target_recras.run import TargetSession
from target_recras.sdk_compat import SDKMessageHooks
from target_recras.sinks import (
    KEY_PROPERTIES,
    KLANTEN_STREAM,
    KlantenSink,
    UnsupportedStreamSink,
)


def schema_message_problem(message: dict[str, Any]) -> str | None:
    """What is wrong with a SCHEMA message, or None."""
    stream, schema = message.get("stream"), message.get("schema")
    if not isinstance(stream, str) or not stream:
        return "'stream' must be a non-empty name"
    if "schema" not in message:
        return "it has no 'schema'"
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return "'schema' must be a JSON Schema object with 'properties'"
    keys = message.get("key_properties")
    if isinstance(keys, str):
        return f"key_properties must be a list of field names, not the string {keys!r}"
    if keys is not None and (
        not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys)
    ):
        return f"key_properties must be a list of field names, not {keys!r}"
    return None


class TargetRecras(SecretSafeConfigValidation, SDKMessageHooks):
    """Upserts customers (klanten) into Recras through ``POST``/``PUT /api2/klanten``."""

    name = "target-recras"
    package_name = DISTRIBUTION
    default_sink_class = KlantenSink
    message_reader_class = RecrasMessageReader
    # No VALIDATE_RECORDS: every record is always checked against the Recras body schema
    # (an invalid record is never sent), so the SDK's on/off switch would be misleading.
    capabilities = [  # noqa: RUF012 - the SDK declares this as a plain class attribute
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        *connection_properties(USER_AGENT),
        max_workers_property(
            "How many writes to Recras run at the same time. Records of one customer are "
            "always written one after another, in input order."
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            title="Dry run",
            description=(
                "Validate every record and report what would be created or updated, without "
                "sending anything to Recras or changing the id map. Rejects are still written "
                "to `rejects_path`. No STATE is emitted, so an orchestrator keeps its bookmark. "
                "Credentials are optional in a dry run."
            ),
        ),
        th.Property(
            "rejects_path",
            th.StringType,
            default=DEFAULT_REJECTS_PATH,
            title="Rejects file",
            description=(
                "JSON Lines file that receives every rejected record (and unreadable input "
                "line) with the reason and the field path. Appended to, never truncated."
            ),
        ),
        th.Property(
            "max_rejects",
            th.IntegerType(minimum=0),
            title="Max rejects",
            description=(
                "Stop the run when more records than this are rejected; 0 stops at the first "
                "reject. Unset: no limit (every reject still goes to `rejects_path`)."
            ),
        ),
        th.Property(
            "id_map_path",
            th.StringType,
            default=DEFAULT_ID_MAP_PATH,
            title="Id map file",
            description=(
                "SQLite file that maps source keys (the stream's key properties, e.g. "
                "`external_id`) to Recras customer ids, so later runs update instead of "
                "creating. Keep it between runs. A shortcut for `id_map_url` "
                "`sqlite:///<path>`; `id_map_url` wins when both are set."
            ),
        ),
        th.Property(
            "id_map_url",
            th.StringType,
            secret=True,
            title="Id map URL",
            description=(
                "Where the id map is kept: `sqlite:///<path>` (as `id_map_path`) or "
                "`postgresql://user:password@host:port/database`, a map that workers on "
                "several machines or in throw-away containers share (needs the `postgres` "
                "extra: `pip install 'recras-singer[postgres]'`). The password is secret: it "
                "never appears in logs or errors. One run at a time holds a map (an advisory "
                "lock in PostgreSQL); see `id_map_lock_timeout`."
            ),
        ),
        th.Property(
            "skip_unchanged",
            th.BooleanType,
            default=True,
            title="Skip unchanged records",
            description=(
                "Send no request for a record with a source key whose payload (the fields sent "
                "to Recras, after stream maps) is the one last written to its customer and "
                "confirmed by Recras: the id map keeps a digest of it. Counted as unchanged in "
                "the summary. A change made in Recras itself, or a customer deleted there, is "
                "not seen by this check: set false for one run to send every record again."
            ),
        ),
        th.Property(
            "id_map_lock_timeout",
            th.NumberType(minimum=0),
            default=DEFAULT_ID_MAP_LOCK_TIMEOUT,
            title="Id map lock timeout",
            description=(
                "Seconds a run waits while another run holds the same id map (two runs at "
                "once would create customers twice), then stops with an error naming the "
                "id map and the other process. 0: do not wait."
            ),
        ),
        request_metrics_property(),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session: TargetSession | None = None
        self._state_lock = threading.Lock()
        self._emitted_state: Any = None
        self._last_state_read: Any = None
        self._versions_seen: set[Any] = set()
        reader = self.message_reader
        if isinstance(reader, RecrasMessageReader):
            reader.on_bad_line = self._reject_line
            reader.on_stop = self._stop_run
        # Replaces the SDK's handlers, which drain every queued write and exit 0: a stop
        # signal unwinds the main thread, and _stop_run finishes the writes in flight.
        stop_signals.install()

    def open_session(self) -> TargetSession:
        """The run's resources (:mod:`target_recras.run.session`), made on the first call.

        Called where a message first needs them: a sink being made (the first SCHEMA of a
        stream), a reject, a STATE. Making them opens the id map, talks to Recras and starts
        the writer threads, so ``--about`` and an input without such a message never do.
        """
        if self._session is None:
            try:
                options = TargetOptions.from_config(self.config)
            except RecrasConfigError as exc:
                raise TargetStopError(f"Configuration error: {exc}") from exc
            self._session = TargetSession.open(
                options,
                self.logger,
                self.emit_state,
                self.input_line_number,
            )
        return self._session

    def input_line_number(self) -> int:
        """The number of the input line being handled (for rejects and errors)."""
        return int(getattr(self.message_reader, "line_number", 0))

    @override
    def get_sink_class(self, stream_name: str) -> type[KlantenSink | UnsupportedStreamSink]:
        """``klanten`` gets the real sink; any other stream one that rejects with a hint."""
        return KlantenSink if stream_name == KLANTEN_STREAM else UnsupportedStreamSink

    # -- messages -------------------------------------------------------------------------

    def _stop_run(self, exc: BaseException) -> None:
        """The run ended early: stop the writes, release the run, log the summary.

        On SIGTERM/SIGINT the writes in flight finish (and may still let a STATE out) and no
        queued one starts.
        """
        if self._session is None:
            return
        if isinstance(exc, Stopped):
            self.logger.warning(
                "Received %s: finishing the writes in flight, starting no new ones.",
                exc.signal_name,
            )
            self._session.terminate()
        else:
            self._session.close(success=False)

    def _reject_line(self, line: str, problem: Problem, stream: str | None) -> None:
        self.open_session().reject(problem, stream=stream, line=line)

    @override
    def check_schema_message(self, message: dict[str, Any]) -> None:
        """Stop at a SCHEMA that cannot be right: its key properties decide the matching.

        A malformed SCHEMA is never guessed at (``"external_id"`` as a string is not split
        into characters): records matched by the wrong key would create duplicates. Nor is a
        stream's SCHEMA sent again with other key properties: its later records would find
        other customers, or none (keyless, they are created again on every run).
        """
        stream = message.get("stream")
        line = self.input_line_number()
        problem = schema_message_problem(message)
        if problem is not None:
            name = repr(stream) if isinstance(stream, str) else "(no stream name)"
            raise TargetStopError(
                f"Input line {line}: the SCHEMA message for stream {name} is malformed: "
                f"{problem}. The run stopped before any record of it was written; fix the tap "
                "(or the stream map that produced it)."
            )
        registered = self.mapper.stream_maps.get(message["stream"])
        if not registered:
            return
        before = list(registered[0].raw_key_properties or [])
        after = list(message.get("key_properties") or [])
        if before != after:
            raise TargetStopError(
                f"Input line {line}: the SCHEMA message for stream {stream!r} changes its key "
                f"properties from {json.dumps(before)} to {json.dumps(after)}. They decide "
                "which customer each record updates, so the run stopped before any record "
                "under the new keys was written. Send each stream with one set of key "
                "properties; two sources with different keys can be two streams, each mapped "
                'to klanten (stream_maps {"<stream>": {"__alias__": "klanten"}}).'
            )

    @override
    def handle_record_message(self, message: dict[str, Any]) -> None:
        """The SDK's record handling minus what this target replaces, plus rejects.

        Stream maps and the sink's public hooks (``preprocess_record``, then
        ``process_record``, then the post-record hook) apply as in the SDK. Not done here:
        the SDK's schema validation and timestamp parsing (the sink validates against the
        Recras schema and never converts values), ``_sdc_*`` metadata (never sent), and
        stopping the run on a record that arrives before its SCHEMA or lacks a key property
        (those records are rejected instead).
        """
        stream, record = message.get("stream"), message.get("record")
        if not isinstance(stream, str) or not isinstance(record, dict):
            problem = Problem("a RECORD message needs a 'stream' name and a 'record' object", None)
            self.open_session().reject(
                problem, stream=stream if isinstance(stream, str) else None, record=record
            )
            return
        self._write_record(stream, record, "RECORD")

    def _write_record(self, stream: str, record: dict[str, Any], source: str) -> None:
        """One record (of a RECORD or a BATCH message) through stream maps to its sink."""
        stream_maps = self.mapper.stream_maps.get(stream)
        if stream_maps is None:
            self._reject_before_schema(stream, record, source)
            return
        for stream_map in stream_maps:
            # Each map gets its own copy when a stream is split into several.
            transformed = stream_map.transform(
                copy.copy(record) if len(stream_maps) > 1 else record
            )
            if transformed is None:
                continue  # filtered out by a stream map
            if not self.sink_exists(stream_map.stream_alias):
                self._reject_before_schema(stream_map.stream_alias, transformed, source)
                continue
            sink = self.get_sink(stream_map.stream_alias, record=transformed)
            # The sink of the alias has the keys of whichever stream's SCHEMA came last; a
            # record is matched by the keys of the stream it came from.
            context: dict[str, Any] = {KEY_PROPERTIES: stream_map.transformed_key_properties}
            transformed = sink.preprocess_record(transformed, context)
            sink.tally_record_read()
            sink.process_record(transformed, context)
            sink.record_counter_metric.increment()
            self.after_process_record(sink, context)
            if sink.is_full:
                self.drain_one(sink)

    def _reject_before_schema(self, stream: str, record: dict, source: str) -> None:
        problem = Problem(
            f"{source} for stream '{stream}' arrived before its SCHEMA message; the tap must "
            "send SCHEMA first (its key properties decide how the record is matched)",
            None,
        )
        self.open_session().reject(problem, stream=stream, record=record)

    @override
    def handle_state_message(self, message: dict[str, Any]) -> None:
        """Queue the STATE until every record before it is written or rejected."""
        state = message.get("value")
        if not isinstance(state, dict):
            problem = Problem("a STATE message needs a 'value' object (the tap's bookmarks)", None)
            self.open_session().reject(
                problem, stream=None, line=json.dumps(message, ensure_ascii=False)
            )
            return
        if state == self._last_state_read:
            return
        self._last_state_read = state
        self.open_session().checkpoints.add_state(state)

    @override
    def handle_activate_version_message(self, message: dict[str, Any]) -> None:
        """Ignored (logged once per stream): this target never deletes Recras customers."""
        stream = message.get("stream")
        if stream not in self._versions_seen:
            self._versions_seen.add(stream)
            self.logger.info(
                "ACTIVATE_VERSION for stream %s ignored: target-recras never deletes customers.",
                stream,
            )

    @override
    def handle_batch_message(self, message: dict[str, Any]) -> None:
        """Write the records of the files a BATCH names (:mod:`target_recras.input.batch_files`).

        Each record takes the RECORD path; a line that is not a record object is rejected.
        A BATCH that cannot be read stops the run: its records are never acknowledged.
        """
        stream = message.get("stream")
        line = self.input_line_number()
        try:
            if not isinstance(stream, str):
                msg = "a BATCH message needs a 'stream' name"
                raise BatchError(msg)
            for item in batch_lines(message):
                if isinstance(item.value, dict):
                    self._write_record(stream, item.value, "BATCH")
                    continue
                reason = item.problem or (
                    f"line {item.line_number} of batch file {item.path} is not a record object"
                )
                self.open_session().reject(Problem(reason, None), stream=stream, line=item.text)
        except BatchError as exc:
            name = repr(stream) if isinstance(stream, str) else "(no stream name)"
            msg = (
                f"Input line {line}: the BATCH message for stream {name} cannot be written: "
                f"{exc}. The run stopped; no STATE after it was emitted."
            )
            raise TargetStopError(msg) from exc

    @override
    def emit_state(self, state: dict[str, Any]) -> None:
        """Emit a STATE once (checkpoints and the SDK's final drain may both offer it).

        A dry run emits none: it wrote nothing, so an orchestrator must not save the
        source's bookmark (the next real run would skip records only the dry run saw).
        """
        if self.config.get("dry_run"):
            return
        with self._state_lock:
            if state == self._emitted_state:
                return
            self.write_state_to_stdout(state)
            self._emitted_state = copy.deepcopy(state)

    @override
    def process_endofpipe(self) -> None:
        """Drain (which emits the last STATE), then log the summary."""
        try:
            # The reader held back a stop signal that came after the input ended: between
            # there and here (the SDK logs a line) nothing would finish the writes.
            stop_signals.release()
            super().process_endofpipe()
            if self._session is not None:  # None: the input held no message that needed one
                self._session.finish()
        except BaseException as exc:
            self._stop_run(exc)
            raise

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """Only stream maps and flattening: the SDK's target extras do not apply here.

        ``add_record_metadata`` (``_sdc_*`` fields are never sent), ``load_method`` (the
        target always upserts) and ``batch_size_rows`` (writes start as records arrive)
        would only mislead in ``--about``.
        """
        super(Target, cls).append_builtin_config(config_jsonschema)

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        """Run the CLI; a stop ends it with its message and exit code 1, a signal with 128+n."""
        try:
            super().invoke(**kwargs)
        except TargetStopError as stop:
            cls.logger.critical("%s", stop)
            sys.exit(1)
        except Stopped as term:
            cls.logger.critical(
                "Stopped by %s (exit code %d). Every STATE emitted is safe; rerun from the last "
                "one.",
                term.signal_name,
                term.exit_code,
            )
            sys.exit(term.exit_code)
