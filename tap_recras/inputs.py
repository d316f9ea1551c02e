"""Checks of the state and catalog a run is given, before the SDK reads them.

The SDK trusts both: a bookmark of ``"abc"`` crashed in ``int()``, ``"klanten": null`` in an
``AttributeError``, a ``replication-method`` of ``LOG_BASED`` ran INCREMENTAL without a word.
Each check here stops the run with a :class:`TapInputError` that says which entry is wrong,
what it holds and what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from recras_api.ids import is_json_int

#: The largest id Recras can hand out: it runs on PHP, whose integers (and so the ``id>``
#: parameter) end at 2**63 - 1. A bookmark above it would match no customer, run after run.
MAX_ID = 2**63 - 1
#: Where a bookmark keeps the listed items whose detail answered 404 (asked again once).
NOT_FOUND_IDS = "not_found_ids"
#: The replication methods this tap implements (Recras has no change log for LOG_BASED).
REPLICATION_METHODS = ("INCREMENTAL", "FULL_TABLE")
#: An ISO date as a bookmark holds it.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Where a stream entry (or its metadata) names a replication method.
_METHOD_METADATA = ("replication-method", "forced-replication-method")


class TapInputError(ValueError):
    """The state or catalog given to the tap cannot be used as it is."""


def _shown(value: Any) -> str:
    # The state is read with fractions as Decimal: shown as the number it was, not its repr.
    text = str(value) if isinstance(value, Decimal) else json.dumps(value, default=repr)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return kinds.get(type(value), f"the {type(value).__name__} {_shown(value)}")


class IdBookmark:
    """A bookmark that is the highest id seen (0 to :data:`MAX_ID`), with ids to ask again."""

    key = "id"

    def __init__(self, noun: str) -> None:
        self.noun = noun

    def problem(self, entry: Mapping[str, Any]) -> tuple[str, str] | None:
        """Where ``entry`` is wrong and how, or None if it is usable."""
        value = entry.get("replication_key_value")
        if value is not None and (not is_json_int(value) or not 0 <= value <= MAX_ID):
            return "replication_key_value", (
                f"must be a {self.noun} id (an integer from 0 to {MAX_ID}), got {_shown(value)}"
            )
        not_found = entry.get(NOT_FOUND_IDS, [])
        if not isinstance(not_found, list) or not all(
            is_json_int(i) and 1 <= i <= MAX_ID for i in not_found
        ):
            return NOT_FOUND_IDS, (
                f"must be a list of {self.noun} ids (integers from 1 to {MAX_ID}), got "
                f"{_shown(not_found)}"
            )
        return None


class DateBookmark:
    """A bookmark that is an ISO date (``YYYY-MM-DD``) held in ``key``."""

    def __init__(self, key: str) -> None:
        self.key = key

    def problem(self, entry: Mapping[str, Any]) -> tuple[str, str] | None:
        """Where ``entry`` is wrong and how, or None if it is usable."""
        value = entry.get("replication_key_value")
        if value is None or (isinstance(value, str) and is_iso_date(value)):
            return None
        return "replication_key_value", f"must be an ISO date (YYYY-MM-DD), got {_shown(value)}"


def is_iso_date(text: str) -> bool:
    """Whether ``text`` is a date as ``YYYY-MM-DD`` (a real one: no 2026-13-45)."""
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


#: What a stream's bookmark must hold, by its kind.
BookmarkKind = IdBookmark | DateBookmark


def check_state(state: Any, bookmarks: Mapping[str, BookmarkKind]) -> Mapping[str, Any]:
    """Return ``state`` if the tap can resume from it; else refuse it, naming the bad entry.

    Every stream entry must be an object, as must its progress markers; its partitions a
    list of objects. The entry of each stream in ``bookmarks`` must name that stream's
    replication key (if any) and hold a bookmark of its kind: an id (and ids to ask again)
    or an ISO date. Entries of other streams are kept as they are.
    """

    def refuse(where: str, problem: str) -> TapInputError:
        return TapInputError(
            f"The state is not usable: {where} {problem}. Fix that entry, or clear the "
            "state to start again from start_id and start_date (Meltano: "
            "`meltano state clear <job>`)."
        )

    if not isinstance(state, Mapping):
        raise refuse("the state", f"must be a JSON object, got {_type_name(state)}")
    entries = state.get("bookmarks", {})
    if not isinstance(entries, Mapping):
        raise refuse("bookmarks", f"must be an object, got {_type_name(entries)}")
    for stream, entry in entries.items():
        where = f"bookmarks.{stream}"
        if not isinstance(entry, Mapping):
            raise refuse(where, f"must be an object, got {_type_name(entry)}")
        markers = entry.get("progress_markers", {})
        if not isinstance(markers, Mapping):
            raise refuse(f"{where}.progress_markers", f"must be an object, got {_shown(markers)}")
        partitions = entry.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, Mapping) for p in partitions):
            raise refuse(
                f"{where}.partitions", f"must be a list of objects, got {_shown(partitions)}"
            )
    for stream, kind in bookmarks.items():
        entry = entries.get(stream) or {}
        key = entry.get("replication_key", kind.key)
        if key != kind.key:
            raise refuse(
                f"bookmarks.{stream}.replication_key",
                f"must be {_shown(kind.key)}, got {_shown(key)}",
            )
        if found := kind.problem(entry):
            field, problem = found
            raise refuse(f"bookmarks.{stream}.{field}", problem)
    return state


def without_partitions(state: Mapping[str, Any], stream: str) -> dict[str, Any]:
    """``state`` without the ``partitions`` of ``stream``, a stream kept in one entry.

    Older tap-recras versions kept a ``contactpersonen`` partition per customer; the stream
    now has one state entry, so those partitions mean nothing, yet the SDK would carry them
    (megabytes for a large instance) into every STATE message from then on.
    """
    bookmarks = state.get("bookmarks")
    if not isinstance(bookmarks, Mapping) or "partitions" not in (bookmarks.get(stream) or {}):
        return dict(state)
    entry = {key: value for key, value in bookmarks[stream].items() if key != "partitions"}
    return {**state, "bookmarks": {**bookmarks, stream: entry}}


def check_no_batch_config(config: Mapping[str, Any]) -> None:
    """Refuse ``batch_config``: the SDK would write one batch file per customer.

    ``contactpersonen`` is synced once per customer (a child stream), and the SDK batches
    each sync on its own; the tap therefore does not declare the ``batch`` capability, and a
    ``batch_config`` given anyway must not quietly produce thousands of files.
    """
    if config.get("batch_config"):
        msg = (
            "batch_config is set, but tap-recras does not write BATCH messages (the SDK "
            "would write one contactpersonen file per customer); remove batch_config to "
            "get RECORD messages."
        )
        raise TapInputError(msg)


def with_requested_replication_methods(catalog: dict[str, Any]) -> dict[str, Any]:
    """Honour the Singer ``replication-method`` metadata of each stream; refuse unknown ones.

    Singer catalogs ask for a replication method through the stream's ``replication-method``
    metadata; singer-sdk 0.54 only reads the stream entry's ``replication_method`` (and the
    tap's own ``forced-replication-method``), which a discovered catalog already sets to
    INCREMENTAL, so a catalog asking for FULL_TABLE the Singer way would silently stay
    incremental. The metadata is the user's explicit request: it wins. A method other than
    :data:`REPLICATION_METHODS`, wherever the catalog names it, stops the run.
    """
    streams = []
    for entry in catalog.get("streams", []):
        name = entry.get("tap_stream_id") or entry.get("stream")
        stream_metadata: dict[str, Any] = next(
            (
                item.get("metadata", {})
                for item in entry.get("metadata", [])
                if item.get("breadcrumb") == []
            ),
            {},
        )
        asked = [("replication_method", entry.get("replication_method"))] + [
            (f"metadata {key}", stream_metadata.get(key)) for key in _METHOD_METADATA
        ]
        for where, method in asked:
            if method is not None and method not in REPLICATION_METHODS:
                msg = (
                    f"The catalog asks for {where} {_shown(method)} for stream {name}; "
                    f"tap-recras supports {' and '.join(REPLICATION_METHODS)} only"
                    + (" (Recras has no change log to read)" if method == "LOG_BASED" else "")
                    + "."
                )
                raise TapInputError(msg)
        requested = stream_metadata.get("replication-method")
        streams.append({**entry, "replication_method": requested} if requested else entry)
    return {**catalog, "streams": streams}
