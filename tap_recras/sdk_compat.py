"""Every private singer-sdk name tap-recras relies on, and only here.

singer-sdk has no public hook for a few steps the tap needs (cheaper RECORD and bookmark steps,
a child stream that leaves STATE and ACTIVATE_VERSION to its parent, run-wide metrics, a
non-zero exit on SIGTERM, a stop that writes the last safe STATE). Each use is wrapped below
under a public name, and :data:`PRIVATE_NAMES` lists them in the project's one format
(:class:`recras_api.plugin.sdk_compat.PrivateName`, with the fingerprint of each in the
singer-sdk release it was checked against). ``tests/sdk_contract/test_sdk_private_names.py``
fails when the installed SDK changes one of them and when another tap module names one directly."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import FrameType
from typing import Any, ClassVar

from singer_sdk import Stream, Tap, metrics
from singer_sdk.helpers import _catalog, _state
from singer_sdk.helpers.types import Context, Record
from singer_sdk.plugin_base import PluginBase
from singer_sdk.streams._state import StreamStateManager
from typing_extensions import override

from recras_api.plugin.sdk_compat import PrivateName
from recras_api.plugin.termination import Stopped

PRIVATE_NAMES: tuple[PrivateName, ...] = (
    PrivateName(
        Stream,
        "_write_record_message",
        "overridden: RECORD lines without the SDK's deselection walk and message objects",
        "292b7bed39883bd9",
    ),
    PrivateName(
        Stream,
        "_increment_stream_state",
        "overridden: the pending bookmark kept up in place after the SDK set it up",
        "cabc0edb2fd4f000",
    ),
    PrivateName(
        Stream,
        "_process_record",
        "overridden: skipped for a record with no partition context and no child to sync",
        "8529b9f3ce2f849d",
    ),
    PrivateName(
        Stream,
        "_sync_records",
        "relied on: calls the three names above once per record, with these arguments",
        "8928dc7f50e9bf57",
    ),
    PrivateName(
        Stream,
        "_write_state_message",
        "overridden: the child stream writes no STATE",
        "f82ecd8d16986823",
    ),
    PrivateName(
        Stream,
        "_write_schema_message",
        "called: the child's SCHEMA before its version",
        "4077b24e5440fdef",
    ),
    PrivateName(
        Stream,
        "_write_activate_version_message",
        "called: the child's full-table version",
        "b5295d35a81b3da6",
    ),
    PrivateName(
        Stream, "_stream_version", "read and set: the version a record carries", "d688dac686f01d3b"
    ),
    PrivateName(
        Stream, "_tap", "read: the tap (its client and settings) of a stream", "d688dac686f01d3b"
    ),
    PrivateName(
        metrics.Counter,
        "_ready_to_log",
        "called: a run-wide counter's interval",
        "57f5533effc3a205",
    ),
    PrivateName(
        metrics.Counter, "_pop", "called: a run-wide counter logs and restarts", "2743e9c61d12bf12"
    ),
    PrivateName(
        Tap, "_handle_termination", "overridden: SIGTERM exits 128 + signal", "2bb79ae47769883a"
    ),
    PrivateName(
        Tap,
        "sync_all",
        "wrapped (final in the SDK): a stop writes the last safe STATE",
        "e4412393757b4cdc",
    ),
    PrivateName(
        PluginBase, "_handle_termination", "replaced: it exits 0 on a signal", "d467c7407cf55b00"
    ),
    PrivateName(
        _state,
        "PROGRESS_MARKERS",
        "read: where an unsorted stream's maximum waits (left out of a resumable bookmark)",
        "018333d51bb467b3",
    ),
    PrivateName(
        _state,
        "finalize_state_progress_markers",
        "relied on: promotes replication_key_value",
        "bab6282c32282f40",
    ),
    # Named by tests and benchmarks only, to compare the tap's steps with the SDK's own.
    PrivateName(
        _catalog,
        "pop_deselected_record_properties",
        "compared against: the SDK's deselection walk that write_record replaces",
        "e69d4428c03eced1",
    ),
    PrivateName(
        Stream,
        "_generate_record_messages",
        "compared against: the SDK's RECORD messages that write_record replaces",
        "9b5f9fbcdedb7a1a",
    ),
    PrivateName(Stream, "_mask", "set: a selection made in a test", "d688dac686f01d3b"),
    PrivateName(
        Stream,
        "_write_starting_replication_value",
        "overridden: the starting value is the bookmark alone, never start_date",
        "0a24e5d05cd5353c",
    ),
    PrivateName(
        StreamStateManager,
        "write_starting_replication_value",
        "called: writes a stream's starting value and logs it, start_date from its config",
        "cce0c427cfc17be4",
    ),
)


def resumable_bookmark(bookmark: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a stream's bookmark without its progress markers: what a run resumes from.

    The markers hold the highest value a run that has not completed has seen (the list is
    not sorted): resuming from them could skip customers, and the SDK drops them when a run
    starts anyway. The copy stays as it is while the tap keeps changing its own state.
    """
    return {
        key: copy.deepcopy(value)
        for key, value in bookmark.items()
        if key != _state.PROGRESS_MARKERS
    }


class CompatStream(Stream):
    """A stream with public names for the SDK internals the tap's streams use."""

    #: False for a stream whose parent writes STATE for it (the SDK writes one per sync).
    writes_state_messages: ClassVar[bool] = True

    #: False while no record of this stream has children to sync (see :meth:`_process_record`).
    syncs_children: bool = True

    @override
    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The SDK calls these private names once per record; pointing them straight at the
        # public ones spares a Python frame per record (issue 13 item 3). Each subclass is
        # bound when it is made, so its own overrides are what the SDK calls (one that
        # overrides a private name itself keeps it); replacing write_record or
        # advance_bookmark on a class afterwards does not re-bind them.
        if "_write_record_message" not in cls.__dict__:
            cls._write_record_message = cls.write_record  # type: ignore[method-assign,assignment]
        if "_increment_stream_state" not in cls.__dict__:
            cls._increment_stream_state = cls.advance_bookmark  # type: ignore[method-assign,assignment]

    def write_record(self, record: Record) -> None:
        """Write the RECORD message(s) of one record; by default the SDK's own steps.

        An override that writes the lines itself calls :meth:`records_written` after them.
        """
        super()._write_record_message(record)

    def records_written(self) -> None:
        """Note that records went out since the last STATE (the SDK then sends a new one)."""
        self.state_manager.is_flushed = False

    @override
    def _process_record(
        self,
        record: Record,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        # The SDK's step adds the partition's keys to the record and syncs its children; with
        # neither there is nothing to do, and the call was a share of the list's time.
        if partition_context or self.syncs_children:
            super()._process_record(
                record, child_context=child_context, partition_context=partition_context
            )

    @override
    def _write_starting_replication_value(self, context: Context | None) -> None:
        # The SDK takes start_date as the starting value of any stream without a bookmark and
        # logs it as "Starting incremental sync ... with bookmark value": for an id stream
        # that named a date as its bookmark. Each stream applies start_date its own way
        # (get_starting_replication_key_value never returns it), so the value written and
        # logged is the state's bookmark alone (None without one).
        self.state_manager.write_starting_replication_value(
            context=context,
            replication_method=self.replication_method,
            replication_key=self.replication_key,
            config={},
        )

    def advance_bookmark(self, record: Record, context: Context | None) -> None:
        """Move the bookmark past ``record``; by default the SDK's own step."""
        super()._increment_stream_state(record, context=context)

    def pending_bookmark(self) -> dict | None:
        """The progress markers where an unsorted stream's highest value waits, if any."""
        markers: dict | None = self.stream_state.get(_state.PROGRESS_MARKERS)
        return markers

    @override
    def _write_state_message(self) -> None:
        if self.writes_state_messages:
            super()._write_state_message()

    def write_schema_message(self) -> None:
        """Send this stream's SCHEMA (once per stream map, as the SDK's sync does)."""
        self._write_schema_message()

    def write_activate_version_message(self, version: int) -> None:
        """Send ACTIVATE_VERSION ``version`` for this stream."""
        self._write_activate_version_message(version)

    @property
    def stream_version(self) -> int | None:
        """The full-table version this run's records carry (None: not versioned)."""
        return self._stream_version

    @stream_version.setter
    def stream_version(self, version: int | None) -> None:
        self._stream_version = version

    @property
    def plugin(self) -> Tap:
        """The tap this stream belongs to."""
        return self._tap


class CompatCounter(metrics.Counter):
    """A record counter with public names for its interval check and its log line."""

    def interval_passed(self) -> bool:
        """Whether the logging interval has passed since the last line."""
        return self._ready_to_log()

    def log_and_restart(self) -> None:
        """Log the count so far and start counting from zero."""
        self._pop()


class CompatTap(Tap):
    """A tap whose signal handling, and what a stopped sync does, are public methods."""

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        self.on_termination(signum)

    def on_termination(self, signum: int) -> None:
        """Handle SIGTERM or SIGINT; by default the SDK's (a STATE, then exit 0)."""
        super()._handle_termination(signum, None)

    @override  # type: ignore[misc]  # final in the SDK: wrapped, not changed
    def sync_all(self) -> None:
        """The SDK's sync of every stream; a stop signal calls :meth:`on_stopped` on its way out.

        A :class:`~recras_api.plugin.termination.Stopped` raised anywhere in the sync unwinds
        through the SDK's steps, none of which promotes a bookmark on the way (checked by
        the fingerprint of ``Tap.sync_all`` and ``Stream._sync_records``).
        """
        try:
            super().sync_all()
        except Stopped as stop:
            self.on_stopped(stop)
            raise
        self.on_synced()

    def on_synced(self) -> None:
        """Called once every selected stream was synced; by default nothing."""

    def on_stopped(self, stop: Stopped) -> None:
        """Write what a stopped sync owes its reader; by default nothing."""
