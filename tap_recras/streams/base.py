"""The shared base of every stream: a stream of tap-recras is a declaration on top of it.

:class:`RecrasStream` is what every stream shares: records carry only declared properties
(others dropped, warned once by name), money decoded exactly (:mod:`recras_api.money`), the
cheap RECORD lines, the tap's client and settings. :class:`ListedStream` reads one list of
API2 (paging, limits and retries come with the client): each run is one full-table version,
activated only after its last record, or an incremental run whose bookmark is promoted only
when it completes; a 404 for an item's detail is asked again instead of being lost.
:class:`ChildStream` is a stream of records its parent's run hands it, with one counter and
one timer per run. A stream then says only what is its own: name, path, key, replication,
schema file, and how its children are found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from singer_sdk import SchemaDirectory, StreamSchema, metrics
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE, SelectionMask
from typing_extensions import override

from recras_api.capped_log import CappedLog
from recras_api.client import item_path
from recras_api.errors import (
    RecrasInvalidResponseError,
    RecrasNotFoundError,
    RecrasUnavailableError,
)
from recras_api.money import NotMoneyError, money_decoder
from recras_api.paging import ListEndpoint
from tap_recras import schemas
from tap_recras.checks import checked_list, new_items
from tap_recras.details import fetch_in_order
from tap_recras.inputs import NOT_FOUND_IDS
from tap_recras.meters import RunMeters
from tap_recras.output import BufferedMsgSpecWriter
from tap_recras.sdk_compat import CompatStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_recras.tap import TapRecras

#: The folder of the streams' JSON schemas, one ``<stream>.json`` each (the SDK's template).
SCHEMAS = SchemaDirectory(schemas)
#: Child-context key under which a parent's record hands its child records to the child.
CHILDREN_KEY = "_children"
#: How many ids a log line names before it says how many more there are.
_IDS_SHOWN = 20


class IncompleteFullTableError(RecrasUnavailableError):
    """A full-table run could not read every item it listed: its version stays open."""


def id_list(ids: list[int]) -> str:
    """``ids`` for a log line: the first few, then how many more."""
    shown = ", ".join(map(str, ids[:_IDS_SHOWN]))
    return shown if len(ids) <= _IDS_SHOWN else f"{shown} and {len(ids) - _IDS_SHOWN} more"


class RecrasStream(CompatStream):
    """Common ground: records are decoded JSON already, and carry only schema properties."""

    # Values come straight from JSON (str, int, Decimal, bool, None, list, dict): conforming
    # them to the schema changes nothing and was a large share of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: The replication method when the catalog asks for none.
    default_replication_method: ClassVar[str] = REPLICATION_FULL_TABLE
    #: ``schemas/<name>.json``.
    schema = StreamSchema(SCHEMAS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known = frozenset(self.schema["properties"])
        self._dropped: set[str] = set()
        self._decode_money = money_decoder(self.schema)
        # What write_record works out once per selection mask: the writer, the deselected
        # top-level properties and the stream's unmapped name (None: worked out per record).
        self._write_plan: tuple[
            SelectionMask | None, BufferedMsgSpecWriter | None, tuple[str, ...] | None, str | None
        ] = (None, None, None, None)

    @property
    @override
    def replication_method(self) -> str:
        """The catalog's choice, else :attr:`default_replication_method`."""
        return str(self.forced_replication_method or self.default_replication_method)

    @override
    def get_starting_replication_key_value(self, context: Context | None) -> Any | None:
        """The bookmark an incremental run starts from (None: none); never ``start_date``.

        The SDK falls back on a ``start_date`` setting for any replication key, and would
        read it as a customer id; each stream applies ``start_date`` its own way instead.
        """
        if self.replication_method == REPLICATION_FULL_TABLE or not self.replication_key:
            return None
        state = self.get_context_state(context)
        value = state.get("replication_key_value")
        return value if value and state.get("replication_key") == self.replication_key else None

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Drop top-level properties the schema does not declare (warning once per name).

        Every record then matches the SCHEMA message, which targets build tables from;
        Recras adding a field never breaks a load. Nested objects are left as they are.
        Money becomes exact numbers (:mod:`recras_api.money`).
        """
        if not row.keys() <= self._known:  # the common case: one set comparison
            self._drop_undeclared(row)
        if self._decode_money is not None:
            try:
                self._decode_money(row, "")
            except NotMoneyError as exc:
                msg = f"Recras sent a {self.name} record (id {row.get('id')!r}) whose {exc}"
                raise RecrasInvalidResponseError(msg) from None
        return row

    def _drop_undeclared(self, row: Record) -> None:
        extra = row.keys() - self._known
        if new := extra - self._dropped:
            self._dropped |= new
            self.logger.warning(
                "Recras sent properties that are not in the %s schema; they are left out of "
                "the records: %s",
                self.name,
                ", ".join(sorted(new)),
            )
        for name in extra:
            del row[name]

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never where the SDK would: before the first record.

        A target drops the rows of older versions when it receives ACTIVATE_VERSION: sent
        first, it dropped every row until the run sent it again. A listed stream activates
        its full-table version after its last record, and its children's after theirs
        (:meth:`ListedStream.get_records`); a child stream never per parent record.
        """
        return False

    def full_table_version(self) -> int | None:
        """This full-table run's version, as the SDK numbers it (None: incremental, or off)."""
        if self.replication_method == REPLICATION_FULL_TABLE and self.config.get(
            "emit_activate_version_messages", True
        ):
            return self.recras.initialized_at // 1000
        return None

    @property
    def recras(self) -> TapRecras:
        """The tap: its HTTP client and settings."""
        return cast("TapRecras", self.plugin)

    @override
    def write_record(self, record: Record) -> None:
        """Write one record's RECORD lines: the SDK's steps, cheaper where they can be.

        This replaces a private SDK method (see :mod:`tap_recras.sdk_compat`). Two of the
        SDK's steps were a large share of the tap's own run time in a profile
        (benchmarks/README.md): it walks every record with ``pop_deselected_record_properties``,
        which builds a breadcrumb per property and recurses into every object, and it builds
        a message object per line, which the writer turns back into a dict to encode.
        Deselection is worked out once from the selection mask instead, and the writer
        encodes the same dict from its parts. A catalog that deselects anything below the
        top level gets the SDK's steps. Conformance is skipped because the level is NONE.
        """
        mask = self.mask
        planned_for, writer, deselected, alias = self._write_plan
        if planned_for is not mask:
            writer, deselected, alias = self._buffered_writer(), self._top_level_deselected(), None
            if deselected is not None and writer is not None:
                alias = self._unmapped_alias()
            self._write_plan = (mask, writer, deselected, alias)
        if deselected is None or writer is None:
            super().write_record(record)
            return
        for name in deselected:
            record.pop(name, None)
        now = datetime.now(UTC)
        version = self.stream_version
        if alias is not None:
            writer.write_record(alias, record, version, now)
        else:
            for stream_map in self.stream_maps:
                mapped = stream_map.transform(record)
                if mapped is not None:
                    writer.write_record(stream_map.stream_alias, mapped, version, now)
        self.records_written()

    def _unmapped_alias(self) -> str | None:
        """The stream's name in its RECORD lines if no stream map changes any record.

        Without a ``stream_maps`` setting the SDK gives a stream one map, a
        ``SameRecordTransform``, which returns the record as it is unless flattening is on:
        calling it for every record changes nothing.
        """
        maps = self.stream_maps
        unmapped = (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
        )
        return maps[0].stream_alias if unmapped else None

    def _buffered_writer(self) -> BufferedMsgSpecWriter | None:
        """The tap's writer, if it can write RECORD lines from their parts."""
        writer = self.recras.message_writer
        return writer if isinstance(writer, BufferedMsgSpecWriter) else None

    def _top_level_deselected(self) -> tuple[str, ...] | None:
        """Deselected top-level properties, or None if the catalog deselects deeper ones."""
        mask = self.mask
        if any(
            len(crumb) > 2 and not selected and mask[crumb[:2]] for crumb, selected in mask.items()
        ):
            return None
        return tuple(name for name in self._known if not mask[("properties", name)])


class ChildStream(RecrasStream):
    """Records its parent's run hands it (in the child context), one sync per parent record.

    It makes no request itself, writes no STATE (the parent's STATE carries the run), and
    counts and times the whole run once instead of once per parent record. A full-table
    parent stamps its version on these records and activates it after the last of them.
    """

    #: The property naming the parent record (``klant_id``); part of the key.
    parent_key: ClassVar[str]
    # One state entry for the whole stream, not one per parent record (which grew the
    # state, and every STATE message, with every record: benchmarks/README.md).
    state_partitioning_keys: ClassVar[list[str]] = []
    # No STATE per parent sync (one per record, carrying only the parent's progress):
    # the parent writes STATE every STATE_MSG_FREQUENCY records and at the end.
    writes_state_messages = False
    selected_by_default = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[dict[str, Any]] = []
        self._meters = RunMeters(self.name)
        self.logger.addFilter(_drop_per_parent_sync_lines)

    @override
    def get_record_counter(
        self,
        *,
        endpoint: str | None = None,
        log_interval: float = metrics.DEFAULT_LOG_INTERVAL,
    ) -> metrics.Counter:
        """One counter for the run, not one per parent record (see :mod:`tap_recras.meters`)."""
        return self._meters.counter

    @override
    def get_sync_timer(self) -> metrics.Timer:
        """One timer for the run, not one per parent record."""
        return self._meters.timer

    def finish_run(self) -> None:
        """Log the run's totals once the parent has sent its last record."""
        if self.selected:
            self._meters.finish()

    def stamp_version(self, version: int | None) -> None:
        """Stamp this run's records with its full-table ``version`` (None: not versioned)."""
        if self.selected:
            self.stream_version = version

    def activate_version(self) -> None:
        """Activate the run's version now that every record was sent.

        The SCHEMA goes first: a target knows a stream only from its SCHEMA (target-postgres
        fails on an ACTIVATE_VERSION for a stream it has no SCHEMA for), and a run without
        any record sent none. The writer drops it where it was sent already.
        """
        if self.stream_version is not None:
            self.write_schema_message()
            self.write_activate_version_message(self.stream_version)

    @override
    def preprocess_context(self, context: Context) -> Context:
        """Keep the records out of the context, which the SDK logs and puts in metrics."""
        self._pending = list(context.get(CHILDREN_KEY) or [])
        return {self.parent_key: context[self.parent_key]}

    def take_pending(self) -> list[dict[str, Any]]:
        """The records the current parent record handed over (once)."""
        pending, self._pending = self._pending, []
        return pending

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The current parent record's children, each with the parent's id."""
        parent_id = context[self.parent_key] if context else None
        for child in self.take_pending():
            yield {**child, self.parent_key: parent_id}


def _drop_per_parent_sync_lines(record: logging.LogRecord) -> bool:
    """Filter out the SDK's "Beginning sync" INFO line, written once per parent record."""
    return not str(record.msg).startswith("Beginning sync of")


class ListedStream(RecrasStream):
    """A stream read from one list of API2, with its children if it has any.

    A full-table run's records carry its version, which is activated only once every item
    listed was sent: a target drops the rows of older versions when it receives
    ACTIVATE_VERSION. Announced before the first record (the SDK's place), that dropped
    every row until the run sent it again, and for good the ones a failed or stopped run
    never sent. An incremental run keeps the highest value *seen* as its bookmark (lists
    are not documented as sorted), promoted only when the run completes (the SDK's progress
    markers): a run that dies is resumed from the previous bookmark and re-reads, never
    skips. Each item goes out once per run.

    Children come with the items: from a nested list the item carries (:attr:`nested`),
    else from one request per item (:meth:`children_of`), made only when a child stream or
    the nested property is selected, concurrently (``max_workers``). An item whose detail
    answers 404 is left out; an incremental run asks for it once more in the next run, a
    full-table run at its end (and leaves its version open if it is still missing).
    """

    #: The list this stream reads.
    endpoint: ClassVar[ListEndpoint]
    primary_keys: ClassVar[list[str]] = ["id"]
    #: The property of an item (and its detail) holding its child records, if any.
    nested: ClassVar[str | None] = None
    # Lists are small or their state does not grow: a STATE every 1,000 records costs
    # nothing and lets a scheduler see progress.
    STATE_MSG_FREQUENCY = 1000
    selected_by_default = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Lines about single items: a problem that many share is logged a few times.
        self._lines = CappedLog(self.logger)
        # This sync's progress markers once the SDK set them up (False: nothing to keep).
        self._bookmark_markers: dict[str, Any] | Literal[False] | None = None
        # The bookmark this sync started from (None: none), below which it never goes.
        self._resumed_from: Any = None

    # -- what a stream declares beyond its class attributes ----------------------------------

    def list_params(self, context: Context | None) -> dict[str, Any] | None:
        """The query of the list request (only documented parameters: others get a 406)."""
        return None

    def first_id(self, context: Context | None) -> int | None:
        """The smallest id this run sends (None: every id)."""
        return None

    def listed(self, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        """The list's items, in the batches they were decoded in."""
        return self.recras.client.iter_list_batches(self.endpoint, self.list_params(context))

    def children_of(self, item: dict[str, Any]) -> list[dict[str, Any]] | None:
        """One item's child records (runs on a worker thread); None if the item is gone.

        From the list item when it carries them (no request), else from its detail.
        """
        listed = item.get(self.nested) if self.nested else None
        if listed is not None:
            source = f"GET {self.endpoint.path}, {self.endpoint.noun} {item['id']}"
            return checked_list(listed, self.nested or "", source)
        path = item_path(self.endpoint, item["id"])
        try:
            detail = self.recras.client.get_object(path)
        except RecrasNotFoundError:
            self._lines.warning(
                "%s %s was listed but its detail answered 404 (deleted during the run?)",
                self.endpoint.noun.capitalize(),
                item["id"],
            )
            return None
        return self._children_in(detail, path)

    # -- the run ------------------------------------------------------------------------------

    @cached_property
    def _children(self) -> list[ChildStream]:
        """The child streams (the SDK's ``child_streams``, typed)."""
        return [child for child in self.child_streams if isinstance(child, ChildStream)]

    @property
    def wants_children(self) -> bool:
        """Whether anyone selected the children (a child stream, or the nested property)."""
        nested_selected = self.nested is not None and self.mask[("properties", self.nested)]
        return nested_selected or any(child.selected for child in self._children)

    @override
    def advance_bookmark(self, record: Record, context: Context | None) -> None:
        """Keep the highest value seen as the bookmark this run promotes when it completes.

        The SDK's step per record looks the state entry up and converts both values for
        JSON, a noticeable share of the run (benchmarks/README.md). Its first step sets the
        progress markers up (incremental runs only): from then on the highest is kept in
        those markers directly, as the SDK would. A record without a value (an invoice
        without a date) never moves the bookmark.
        """
        key = self.replication_key
        if not key or (value := record.get(key)) is None:
            return
        markers = self._bookmark_markers
        if markers:
            markers["replication_key_value"] = max(markers["replication_key_value"], value)
        elif markers is None:
            super().advance_bookmark(record, context)
            markers = self._bookmark_markers = self.pending_bookmark() or False
            if markers and self._resumed_from is not None:
                # The SDK's markers start at the first record, which may be one read again
                # below the bookmark (not_found_ids, a look-back): promoted, they would move
                # it back.
                markers["replication_key_value"] = max(
                    markers["replication_key_value"], self._resumed_from
                )

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Yield the items, with their children when they are selected (class docstring)."""
        self._resumed_from = self.get_starting_replication_key_value(context)
        self._bookmark_markers = None  # set up again by this sync's first record
        self.syncs_children = any(child.selected for child in self._children)
        version = self.full_table_version()
        if self.selected:
            self.stream_version = version
        for child in self._children:
            child.stamp_version(version)
        records = self.records(context)
        if not self.selected:
            records = self._advancing(records, context)
        yield from records
        if version is not None:
            if self.selected:
                self.write_activate_version_message(version)
            for child in self._children:
                child.activate_version()
        for child in self._children:
            child.finish_run()

    def records(self, context: Context | None) -> Iterator[Record]:
        """This run's records: the listed items once each, with children when wanted."""
        min_id = self.first_id(context)
        self.logger.info(
            "Listing %s %s",
            self.endpoint.plural,
            f"from id {min_id}" if min_id is not None else "(all ids)",
        )
        retried = self._not_found_before()
        seen = set(retried)
        items = chain.from_iterable(new_items(self.listed(context), self.endpoint, min_id, seen))
        not_found: list[int] = []
        return chain(
            self._found_again(retried, self._give_up),
            # Without children: one generator step per item, no layers (chain is not one).
            self._with_children(items, not_found) if self.wants_children else items,
            self._after_the_list(not_found),
        )

    def _after_the_list(self, not_found: list[int]) -> Iterator[Record]:
        """Once the list is read: the items not found asked again (full table), or kept."""
        if self.replication_method == REPLICATION_FULL_TABLE:
            yield from self._found_again(not_found, self._refuse_to_close)
        else:
            self._keep_not_found(not_found)

    def _children_in(self, detail: dict[str, Any], path: str) -> list[dict[str, Any]]:
        return checked_list(detail.get(self.nested or "") or [], self.nested or "", f"GET {path}")

    def _with_children(
        self, items: Iterator[dict[str, Any]], not_found: list[int]
    ) -> Iterator[Record]:
        """Items with their children; ids whose detail answered 404 go to ``not_found``."""
        pairs = fetch_in_order(items, self.children_of, self.recras.max_workers)
        for item, children in pairs:
            if children is None:
                not_found.append(item["id"])
                continue
            if self.nested:
                # The child context reads the children from the record; the nested property
                # is dropped from the RECORD message afterwards when it is not selected.
                item[self.nested] = children
            else:
                # Not a property of the record: handed on beside it, to the next child context.
                self._unlisted_children = children
            yield item

    def _found_again(
        self, ids: Iterable[int], give_up: Callable[[list[int]], None]
    ) -> Iterator[Record]:
        """The items ``ids`` read from their details once more; ``give_up`` gets the rest.

        A detail holds every field of the list item, so the record is the same.
        """
        missing = []
        for item_id in ids:
            path = item_path(self.endpoint, item_id)
            try:
                detail = self.recras.client.get_object(path)
            except RecrasNotFoundError:
                missing.append(item_id)
                continue
            if self.nested:
                detail[self.nested] = self._children_in(detail, path)
            yield detail
        if missing:
            give_up(missing)

    def _not_found_before(self) -> list[int]:
        """Items the previous incremental run listed but could not read (their detail 404)."""
        if self.replication_method == REPLICATION_FULL_TABLE:
            return []
        return list(self.stream_state.get(NOT_FOUND_IDS) or [])

    def _keep_not_found(self, not_found: list[int]) -> None:
        """Remember this run's 404s: the next run asks for them once more, then gives up.

        The bookmark moves past them meanwhile, so a 404 that was only temporary costs one
        more request, not a second reading of every item after it.
        """
        if not_found:
            self.logger.warning(
                "%d listed %s(s) answered 404 for their detail and were left out: %s. "
                "The next incremental run asks for them once more.",
                len(not_found),
                self.endpoint.noun,
                id_list(not_found),
            )
            self.stream_state[NOT_FOUND_IDS] = sorted(not_found)
        else:
            self.stream_state.pop(NOT_FOUND_IDS, None)

    def _give_up(self, missing: list[int]) -> None:
        self.logger.error(
            "%s(s) %s answered 404 for their detail in this incremental run and the "
            "one before; they are given up and the bookmark stays past them. To read them "
            "again see docs/tap.md, 'Customers whose detail answers 404'.",
            self.endpoint.noun.capitalize(),
            id_list(missing),
        )

    def _refuse_to_close(self, missing: list[int]) -> None:
        msg = (
            f"{self.endpoint.noun.capitalize()}(s) {id_list(missing)} were listed but their "
            "detail answered 404, also when asked again at the end of this full-table run "
            "(deleted during the run?). The run ends without the closing ACTIVATE_VERSION, so "
            f"no target drops a {self.endpoint.noun} for it; the next full-table run will not "
            f"list deleted {self.endpoint.plural}."
        )
        raise IncompleteFullTableError(msg)

    def _advancing(self, items: Iterator[Record], context: Context | None) -> Iterator[Record]:
        """The items, each moving the bookmark past it although this stream is deselected.

        The SDK keeps a bookmark for selected streams only. With a child selected alone, it
        is still read with its parents, from this stream's position: without it every
        incremental run would read every child again.
        """
        for item in items:
            yield item
            self.advance_bookmark(item, context)

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """A child context only when a child stream is selected.

        The SDK asks for one per record and then finds no selected child to sync; skipping
        that saves a dict, a copy and a selection lookup per record. The selection is
        looked up once per sync (:meth:`get_records`), and no generator is made per record.
        """
        if self.syncs_children:
            return (self.get_child_context(record, context),)
        return ()

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context | None:
        """Hand the record's children to the child streams (no second request)."""
        children = record.get(self.nested) if self.nested else self._unlisted_children
        return {child.parent_key: record["id"] for child in self._children} | {
            CHILDREN_KEY: children or []
        }

    #: Children of the current record that its schema does not hold (set before it is
    #: yielded, read by its child context right after).
    _unlisted_children: list[dict[str, Any]] | None = None


class IdBookmarkedStream(ListedStream):
    """A listed stream whose incremental runs ask only for the ids after the bookmark."""

    replication_key = "id"

    @override
    def first_id(self, context: Context | None) -> int | None:
        """The bookmark + 1 (the bookmark's own item was sent), or None without one."""
        bookmark = self.get_starting_replication_key_value(context)
        return int(bookmark) + 1 if bookmark is not None else None

    @override
    def list_params(self, context: Context | None) -> dict[str, Any] | None:
        """``id>`` one below the first id wanted (the ids from it on under either reading).

        The docs call ``id>`` "the smallest id-value to allow" (>=), but a strict > is a
        plausible reading too. Asking for one below the first id wanted and dropping that
        one locally (:func:`~tap_recras.checks.new_items`) gives exactly the ids from it on.
        """
        min_id = self.first_id(context)
        return {"id>": min_id - 1} if min_id is not None else None
