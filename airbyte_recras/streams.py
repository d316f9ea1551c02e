"""Streams, catalogs and state between tap-recras (Singer) and Airbyte.

Everything is derived from the tap's discovered Singer catalog and the parent of each stream
(:meth:`SourceStreams.of_tap`); no stream is named here. For each stream:

* its primary key is the tap's key properties (``[["klant_id"], ["id"]]``: a person linked to
  two customers is one record per link);
* a stream with a replication key (``valid-replication-keys``) offers ``incremental`` (the
  tap's INCREMENTAL) and ``full_refresh`` (its FULL_TABLE); its source-defined cursor is the
  replication key, a top-level field or, dotted (``Factuur.datum``), a nested one. So does a
  stream the tap reads INCREMENTAL by default on a position its records do not carry
  (``factuurregels``: the end of the last date window), without a cursor;
* any other stream (a reference table) offers ``full_refresh`` only. PyAirbyte asks every
  stream for ``incremental``: such a stream is then read in full, with no STATE;
* a child stream (metadata ``parent-tap-stream-id``, or the stream class's
  ``parent_stream_type``) is read with its parent: it offers what its topmost ancestor, its
  *position stream*, offers, and its cursor is that ancestor's cursor where the child's records
  carry it (the parent's key leads the child's key, as ``klant_id`` leads contactpersonen's
  and ``klanten``'s cursor is its key ``id``); else it has none. A configured catalog that asks
  a parent and its child in different sync modes is refused: the tap cannot read every
  payment while reading only new invoices.

State is per stream (``STREAM`` state messages; PyAirbyte drops ``GLOBAL`` state). Each
incremental stream's ``stream_state`` is its position stream's bookmark in the tap's state
(e.g. ``{"replication_key": "id", "replication_key_value": 193}``), without the progress
markers of a read still under way: a child carries its parent's position, and either one
resumes the tap. Reading state back gives each position stream the earliest ``stream_state``
of its family's streams read now (none, a read from the start, when one of them has none):
a child toggled off for a while, or added later, still gets what it missed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airbyte_recras.failures import ConnectorInputError
from tap_recras.sdk_compat import resumable_bookmark

if TYPE_CHECKING:
    from singer_sdk import Tap

FULL_REFRESH = "full_refresh"
INCREMENTAL = "incremental"
#: Airbyte sync mode -> Singer replication method.
REPLICATION_METHODS = {INCREMENTAL: "INCREMENTAL", FULL_REFRESH: "FULL_TABLE"}
#: The Singer metadata naming a stream's parent (Singer's own convention).
PARENT_METADATA = "parent-tap-stream-id"
#: Where a tap bookmark (a stream's ``stream_state``) holds its position.
POSITION = "replication_key_value"

logger = logging.getLogger("source-recras")


@dataclass(frozen=True)
class OfferedStream:
    """One tap stream as source-recras offers it."""

    name: str
    json_schema: dict[str, Any]
    primary_key: tuple[str, ...]
    #: Where records carry the cursor (a path into nested objects); empty: they carry none.
    cursor: tuple[str, ...]
    #: Whether the tap can read it incrementally (its position stream has a replication key).
    incremental: bool
    #: The stream whose tap bookmark is this stream's position: itself or its topmost ancestor.
    position_stream: str

    @property
    def sync_modes(self) -> list[str]:
        """The Airbyte sync modes this stream supports."""
        return [FULL_REFRESH, INCREMENTAL] if self.incremental else [FULL_REFRESH]

    def airbyte_stream(self) -> dict[str, Any]:
        """The stream's entry in a CATALOG message."""
        return {
            "name": self.name,
            "json_schema": self.json_schema,
            "supported_sync_modes": self.sync_modes,
            "source_defined_cursor": self.incremental,
            "default_cursor_field": list(self.cursor),
            "source_defined_primary_key": [[key] for key in self.primary_key],
            "is_resumable": self.incremental,
        }

    def state_message(self, position: Mapping[str, Any], count: int) -> dict[str, Any]:
        """A STATE message carrying ``position`` (``count``: records since the previous one)."""
        return {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": self.name},
                    "stream_state": copy.deepcopy(dict(position)),
                },
                "sourceStats": {"recordCount": float(count)},
            },
        }


def _root_metadata(entry: Mapping[str, Any]) -> dict[str, Any]:
    for item in entry.get("metadata", []):
        if item.get("breadcrumb") == []:
            metadata: dict[str, Any] = item.get("metadata", {})
            return metadata
    return {}


def _replication_key(entry: Mapping[str, Any]) -> str | None:
    """The stream's replication key, as the discovered catalog declares it."""
    metadata = _root_metadata(entry)
    keys = metadata.get("valid-replication-keys") or []
    key = metadata.get("replication-key") or entry.get("replication_key") or next(iter(keys), None)
    return str(key) if key else None


def _reads_incrementally(entry: Mapping[str, Any]) -> bool:
    """Whether the discovered catalog says the tap reads the stream incrementally."""
    methods = (entry.get("replication_method"), _root_metadata(entry).get("replication-method"))
    return REPLICATION_METHODS[INCREMENTAL] in methods


def field_path(schema: Mapping[str, Any], field: str) -> tuple[str, ...]:
    """Where records of ``schema`` carry ``field``: top-level, or dotted into nested objects.

    Empty when the schema declares no such field.
    """
    properties = schema.get("properties", {})
    if field in properties:
        return (field,)
    head, dot, rest = field.partition(".")
    if dot and head in properties:
        nested = field_path(properties[head], rest)
        return (head, *nested) if nested else ()
    return ()


class SourceStreams:
    """The tap's streams as source-recras offers them, by name, in the catalog's order."""

    def __init__(self, singer_catalog: Mapping[str, Any], parents: Mapping[str, str]) -> None:
        """From a discovered Singer catalog and each child stream's parent (name -> name).

        ``parent-tap-stream-id`` metadata in the catalog names parents too.
        """
        entries = {entry["tap_stream_id"]: entry for entry in singer_catalog["streams"]}
        self.parents = {
            name: parent
            for name, entry in entries.items()
            if (parent := _root_metadata(entry).get(PARENT_METADATA) or parents.get(name))
        }
        self.streams: dict[str, OfferedStream] = {}
        for name in entries:
            self._offer(name, entries)

    @classmethod
    def of_tap(cls, tap: Tap) -> SourceStreams:
        """The streams of ``tap``: its discovered catalog, and parents as its streams know them.

        The tap links each stream to the instances of its ``parent_stream_type``.
        """
        parents = {
            child.name: name
            for name, stream in tap.streams.items()
            for child in stream.child_streams
        }
        return cls(tap.catalog_dict, parents)

    def _offer(self, name: str, entries: Mapping[str, Mapping[str, Any]]) -> OfferedStream:
        """The offer of stream ``name`` (its parent's first: a child follows it)."""
        if name in self.streams:
            return self.streams[name]
        entry = entries[name]
        schema = entry["schema"]
        metadata = _root_metadata(entry)
        keys = tuple(entry.get("key_properties") or metadata.get("table-key-properties") or ())
        parent_name = self.parents.get(name)
        if parent_name is None:
            replication_key = _replication_key(entry)
            cursor = field_path(schema, replication_key) if replication_key else ()
            # A stream may keep a position its records do not carry (factuurregels: the end
            # of the last date window read): incremental by default, without a cursor.
            incremental = replication_key is not None or _reads_incrementally(entry)
            offered = OfferedStream(name, schema, keys, cursor, incremental, position_stream=name)
        else:
            parent = self._offer(parent_name, entries)
            offered = OfferedStream(
                name,
                schema,
                keys,
                _carried_cursor(parent, keys, schema),
                parent.incremental,
                parent.position_stream,
            )
        self.streams[name] = offered
        return offered

    def airbyte_catalog(self) -> dict[str, Any]:
        """The ``catalog`` of a CATALOG message."""
        return {"streams": [stream.airbyte_stream() for stream in self.streams.values()]}

    def configured_modes(self, configured: Any) -> dict[str, str]:
        """Stream name -> the sync mode a configured catalog gets, checked against the offer.

        ``incremental`` asked of a stream that offers ``full_refresh`` only (PyAirbyte asks it
        of every stream) is a ``full_refresh``: the stream has no position to resume from.
        """
        if not isinstance(configured, dict) or not isinstance(configured.get("streams"), list):
            raise ConnectorInputError(
                "The catalog must be a configured catalog: {'streams': [...]}"
            )
        modes: dict[str, str] = {}
        in_full: list[str] = []
        for item in configured["streams"]:
            stream = self._configured_stream(item)
            mode = item["sync_mode"]
            if mode == INCREMENTAL and not stream.incremental:
                in_full.append(stream.name)
                mode = FULL_REFRESH
            modes[stream.name] = mode
        if in_full:
            logger.info(
                "Asked for incremental, read in full as every time (they offer full_refresh "
                "only): %s",
                ", ".join(in_full),
            )
        self._check_families(modes)
        return modes

    def _configured_stream(self, item: Any) -> OfferedStream:
        """The offered stream a configured catalog entry names, its mode and cursor checked."""
        stream = item.get("stream") if isinstance(item, dict) else None
        name = stream.get("name") if isinstance(stream, dict) else None
        if name not in self.streams:
            known = ", ".join(self.streams)
            raise ConnectorInputError(
                f"The catalog names stream {name!r}; source-recras has {known}"
            )
        offered = self.streams[name]
        mode = item.get("sync_mode")
        if mode not in REPLICATION_METHODS:
            raise ConnectorInputError(
                f"Stream {name}: sync_mode {mode!r} is not supported (use {FULL_REFRESH} or "
                f"{INCREMENTAL})"
            )
        cursor = item.get("cursor_field")
        if cursor and cursor != list(offered.cursor):
            raise ConnectorInputError(
                f"Stream {name}: cursor_field {cursor!r} cannot be chosen; the cursor is "
                f"source-defined: {list(offered.cursor)!r}"
            )
        return offered

    def _check_families(self, modes: Mapping[str, str]) -> None:
        """Refuse a child asked in another sync mode than its parent: it is read with it."""
        for name, mode in modes.items():
            ancestor = self.parents.get(name)
            while ancestor is not None:
                if modes.get(ancestor, mode) != mode:
                    raise ConnectorInputError(
                        f"{ancestor} and {name} must use the same sync_mode: {name} is read "
                        f"with its parent stream {ancestor} (asked for: {dict(modes)})"
                    )
                ancestor = self.parents.get(ancestor)

    def family_modes(self, modes: Mapping[str, str]) -> dict[str, str]:
        """Position stream -> the sync mode of its configured family (parent and children)."""
        return {self.streams[name].position_stream: mode for name, mode in modes.items()}

    def singer_catalog(
        self, discovered: Mapping[str, Any], modes: Mapping[str, str]
    ) -> dict[str, Any]:
        """The tap's catalog with the configured streams selected in their replication method.

        A position stream gets its family's method even when only a child is selected (the
        tap reads it for the child). A child has no replication key of its own: it is read
        with its parent, incrementally when the parent is; only a full table is asked of it.
        """
        catalog = copy.deepcopy(dict(discovered))
        family_modes = self.family_modes(modes)
        for entry in catalog["streams"]:
            stream = self.streams[entry["tap_stream_id"]]
            metadata = _root_metadata(entry)
            metadata["selected"] = stream.name in modes
            mode = family_modes.get(stream.position_stream)
            if mode is None:
                continue
            if stream.position_stream == stream.name or mode == FULL_REFRESH:
                metadata["replication-method"] = REPLICATION_METHODS[mode]
        return catalog

    def incremental(self, modes: Mapping[str, str]) -> list[OfferedStream]:
        """The configured streams read incrementally, in the catalog's order."""
        return [stream for name, stream in self.streams.items() if modes.get(name) == INCREMENTAL]

    def singer_state(self, state: Any, modes: Mapping[str, str]) -> dict[str, Any] | None:
        """The tap's state from Airbyte's state input (a list of per-stream state messages).

        A family (a position stream and its children) is read as one, so it resumes from the
        earliest ``stream_state`` of its streams read incrementally now, and from the start
        when one of them has none: each must get what it has not had yet. A child toggled off
        for some reads keeps an older state than its parent; one added to the connection has
        none, and its parent's records must come again for the child's to come at all.
        Streams read in full resume from nothing.
        """
        if state in (None, [], {}):
            return None
        if not isinstance(state, list):
            raise ConnectorInputError(
                "The state must be a list of per-stream STATE messages (type STREAM); "
                "source-recras writes no other kind"
            )
        given: dict[str, dict[str, Any]] = {}
        for index, message in enumerate(state):
            name, stream_state = self._stream_state(index, message)
            if name in self.streams:
                given[name] = stream_state
            else:
                # Airbyte gives back the state of every stream a connection ever read: one this
                # version no longer offers (renamed, dropped) must not fail every sync.
                logger.warning(
                    "The state names %r, which is not a stream of source-recras; it is left "
                    "aside (clear it in Airbyte to stop this warning).",
                    name,
                )
        families: dict[str, list[dict[str, Any] | None]] = {}
        for stream in self.incremental(modes):
            families.setdefault(stream.position_stream, []).append(given.get(stream.name))
        bookmarks = {
            family: copy.deepcopy(position)
            for family, states in families.items()
            if (position := _earliest(family, states)) is not None
        }
        return {"bookmarks": bookmarks} if bookmarks else None

    def _stream_state(self, index: int, message: Any) -> tuple[str, dict[str, Any]]:
        """The stream name a state entry is for, and its ``stream_state``; refused if unusable.

        A null ``stream_state`` (the protocol allows it) is an empty one: Airbyte writes it for
        a stream it resets, and passes it to the next read.
        """
        kind = message.get("type") if isinstance(message, dict) else None
        if kind != "STREAM":
            raise ConnectorInputError(
                f"State entry {index} is of type {kind!r}; source-recras keeps per-stream "
                "state only (type STREAM)"
            )
        stream = message.get("stream") or {}
        name = (stream.get("stream_descriptor") or {}).get("name")
        stream_state = stream.get("stream_state")
        if stream_state is None:
            stream_state = {}
        if not isinstance(name, str) or not isinstance(stream_state, dict):
            raise ConnectorInputError(
                f"State entry {index} (stream {name!r}) needs a stream name and a "
                "stream_state object"
            )
        return name, stream_state


def _earliest(family: str, states: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The state with the lowest position; ``None`` when one of ``states`` has no position.

    Positions of a family that cannot be compared (an id and a date) are refused here: the
    tap would refuse either one anyway, as a bookmark not of its kind.
    """
    positioned = [state for state in states if state and state.get(POSITION) is not None]
    if len(positioned) < len(states):
        return None
    try:
        return min(positioned, key=lambda state: state[POSITION])
    except TypeError:
        values = [state[POSITION] for state in positioned]
        raise ConnectorInputError(
            f"The states of {family} and the streams read with it hold positions that "
            f"cannot be compared: {values!r}"
        ) from None


def _carried_cursor(
    parent: OfferedStream, keys: tuple[str, ...], schema: Mapping[str, Any]
) -> tuple[str, ...]:
    """A child's cursor: its parent's, where the child's records carry it, else none.

    A child's key starts with its parent's key under the child's names (``klant_id`` for a
    customer's ``id``) and goes on with its own, so a cursor that is one of the parent's keys
    is carried there.
    """
    carries_parent_key = len(keys) > len(parent.primary_key)
    if not carries_parent_key or len(parent.cursor) != 1:
        return ()
    if parent.cursor[0] not in parent.primary_key:
        return ()
    return field_path(schema, keys[parent.primary_key.index(parent.cursor[0])])


def resume_positions(singer_value: Any, streams: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What a tap STATE says a later read can resume from: per stream, a copy of its bookmark.

    A stream is left out while there is nothing to resume from yet (no bookmark, or only the
    progress markers of a first run). A copy, because the tap keeps changing its state in
    place after writing it: a position kept by reference would always equal the newest one.
    """
    bookmarks = singer_value.get("bookmarks") if isinstance(singer_value, dict) else None
    if not isinstance(bookmarks, dict):
        return {}
    positions = {}
    for name in streams:
        bookmark = bookmarks.get(name)
        if isinstance(bookmark, dict) and (position := resumable_bookmark(bookmark)):
            positions[name] = position
    return positions
