"""Streams, catalogs and state between tap-recras (Singer) and Airbyte.

tap-recras has two streams, and ``contactpersonen`` is read *with* its customers (a child
stream: one detail request per customer feeds both). So:

* both streams offer ``full_refresh`` and ``incremental``; ``incremental`` is the tap's
  INCREMENTAL on the customer id, ``full_refresh`` its FULL_TABLE;
* the cursor is the customer id: ``id`` on ``klanten``, ``klant_id`` on ``contactpersonen``
  (source-defined, not choosable: Recras filters on nothing else);
* primary keys are the tap's key properties: ``[["id"]]`` and ``[["klant_id"], ["id"]]``
  (a person linked to two customers is one record per link);
* a configured catalog that asks for the two streams in different sync modes is refused:
  the tap cannot read persons of every customer while reading only new customers.

State is per stream (``STREAM`` state messages; PyAirbyte drops ``GLOBAL`` state). Each
incremental stream's ``stream_state`` is the tap's own ``klanten`` bookmark (e.g.
``{"replication_key": "id", "replication_key_value": 193}``, without the progress markers of
a read still under way), so both streams carry the same position and either one resumes the
tap.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from airbyte_recras.failures import ConnectorInputError
from tap_recras.sdk_compat import resumable_bookmark
from tap_recras.streams import ContactpersonenStream, KlantenStream

FULL_REFRESH = "full_refresh"
INCREMENTAL = "incremental"
#: Airbyte sync mode -> Singer replication method.
REPLICATION_METHODS = {INCREMENTAL: "INCREMENTAL", FULL_REFRESH: "FULL_TABLE"}
#: The stream whose bookmark is the tap's whole position.
BOOKMARK_STREAM = KlantenStream.name
#: Each stream's cursor: the customer id, under the name the stream's records carry it.
CURSOR_FIELDS = {KlantenStream.name: "id", ContactpersonenStream.name: "klant_id"}


def airbyte_catalog(singer_catalog: dict[str, Any]) -> dict[str, Any]:
    """The ``catalog`` of a CATALOG message for the tap's discovered Singer catalog."""
    streams = []
    for entry in singer_catalog["streams"]:
        name = entry["tap_stream_id"]
        streams.append(
            {
                "name": name,
                "json_schema": entry["schema"],
                "supported_sync_modes": [FULL_REFRESH, INCREMENTAL],
                "source_defined_cursor": True,
                "default_cursor_field": [CURSOR_FIELDS[name]],
                "source_defined_primary_key": [[key] for key in entry.get("key_properties", [])],
                "is_resumable": True,
            }
        )
    return {"streams": streams}


def configured_modes(configured: Any) -> dict[str, str]:
    """Stream name -> sync mode of a configured catalog, checked against what the tap offers."""
    if not isinstance(configured, dict) or not isinstance(configured.get("streams"), list):
        raise ConnectorInputError("The catalog must be a configured catalog: {'streams': [...]}")
    modes: dict[str, str] = {}
    for item in configured["streams"]:
        stream = item.get("stream") if isinstance(item, dict) else None
        name = stream.get("name") if isinstance(stream, dict) else None
        if name not in CURSOR_FIELDS:
            known = ", ".join(CURSOR_FIELDS)
            raise ConnectorInputError(
                f"The catalog names stream {name!r}; source-recras has {known}"
            )
        mode = item.get("sync_mode")
        if mode not in REPLICATION_METHODS:
            raise ConnectorInputError(
                f"Stream {name}: sync_mode {mode!r} is not supported (use {FULL_REFRESH} or "
                f"{INCREMENTAL})"
            )
        cursor = item.get("cursor_field")
        if cursor and cursor != [CURSOR_FIELDS[name]]:
            raise ConnectorInputError(
                f"Stream {name}: cursor_field {cursor!r} cannot be chosen; the cursor is the "
                f"customer id, {[CURSOR_FIELDS[name]]!r}"
            )
        modes[name] = mode
    if len(set(modes.values())) > 1:
        raise ConnectorInputError(
            "klanten and contactpersonen must use the same sync_mode: contact persons are read "
            f"with their customers (asked for: {modes})"
        )
    return modes


def singer_catalog(discovered: dict[str, Any], modes: dict[str, str]) -> dict[str, Any]:
    """The tap's catalog with the configured streams selected in their replication method."""
    catalog = copy.deepcopy(discovered)
    method = REPLICATION_METHODS[next(iter(modes.values()), INCREMENTAL)]
    for entry in catalog["streams"]:
        name = entry["tap_stream_id"]
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = name in modes
                # The child stream has no replication key of its own: it is read with its
                # customers, incrementally when they are; only a full table is asked of it.
                if name == BOOKMARK_STREAM or method == "FULL_TABLE":
                    item["metadata"]["replication-method"] = method
    return catalog


def singer_state(state: Any, modes: dict[str, str]) -> dict[str, Any] | None:
    """The tap's state from Airbyte's state input (a list of per-stream state messages)."""
    if state in (None, [], {}) or INCREMENTAL not in modes.values():
        return None
    if not isinstance(state, list):
        raise ConnectorInputError(
            "The state must be a list of per-stream STATE messages (type STREAM); "
            "source-recras writes no other kind"
        )
    positions: dict[str, Any] = {}
    for index, message in enumerate(state):
        kind = message.get("type") if isinstance(message, dict) else None
        if kind != "STREAM":
            raise ConnectorInputError(
                f"State entry {index} is of type {kind!r}; source-recras keeps per-stream "
                "state only (type STREAM)"
            )
        stream = message.get("stream") or {}
        name = (stream.get("stream_descriptor") or {}).get("name")
        stream_state = stream.get("stream_state")
        if name not in CURSOR_FIELDS or not isinstance(stream_state, dict):
            raise ConnectorInputError(
                f"State entry {index} (stream {name!r}) needs a known stream name and a "
                "stream_state object"
            )
        positions[name] = stream_state
    position = positions.get(BOOKMARK_STREAM) or positions.get(ContactpersonenStream.name)
    if not position:
        return None
    return {"bookmarks": {BOOKMARK_STREAM: copy.deepcopy(position)}}


def resume_position(singer_value: Any) -> dict[str, Any] | None:
    """What a tap STATE says a later read can resume from: a copy of the customers' bookmark.

    None while there is nothing to resume from yet (no bookmark, or only the progress markers
    of a first run). A copy, because the tap keeps changing its state in place after writing
    it: a position kept by reference would always equal the newest one.
    """
    bookmarks = singer_value.get("bookmarks") if isinstance(singer_value, dict) else None
    bookmark = bookmarks.get(BOOKMARK_STREAM) if isinstance(bookmarks, dict) else None
    if not isinstance(bookmark, dict):
        return None
    return resumable_bookmark(bookmark) or None


def state_messages(
    position: Mapping[str, Any], modes: dict[str, str], counts: dict[str, int]
) -> list[dict[str, Any]]:
    """Per-stream STATE messages for a :func:`resume_position` (incremental streams only).

    ``counts`` are the records of each stream since the previous STATE (``sourceStats``).
    """
    return [
        {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": name},
                    "stream_state": copy.deepcopy(position),
                },
                "sourceStats": {"recordCount": float(counts.get(name, 0))},
            },
        }
        for name, mode in modes.items()
        if mode == INCREMENTAL
    ]
