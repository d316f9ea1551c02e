"""The tap's streams: ``klanten`` (customers) and its child ``contactpersonen``."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from singer_sdk import metrics
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE, SelectionMask
from typing_extensions import override

from recras_api.capped_log import CappedLog
from recras_api.client import klant_path
from recras_api.errors import RecrasNotFoundError, RecrasUnavailableError
from recras_api.schemas import CONTACTPERSOON_RECORD_SCHEMA, KLANT_SCHEMA
from tap_recras.checks import checked_persons, new_customers
from tap_recras.details import fetch_in_order
from tap_recras.inputs import NOT_FOUND_IDS
from tap_recras.meters import RunMeters
from tap_recras.output import BufferedMsgSpecWriter
from tap_recras.sdk_compat import CompatStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

    from tap_recras.tap import TapRecras

#: Where a customer record carries its contact persons.
NESTED_PERSONS = ("properties", "contactpersonen")
#: Child-context key under which a customer's contact persons travel to the child stream.
PERSONS_KEY = "contactpersonen"
#: How many ids a log line names before it says how many more there are.
_IDS_SHOWN = 20


class IncompleteFullTableError(RecrasUnavailableError):
    """A full-table run could not read every customer it listed: its version stays open."""


def _id_list(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:_IDS_SHOWN]))
    return shown if len(ids) <= _IDS_SHOWN else f"{shown} and {len(ids) - _IDS_SHOWN} more"


class RecrasStream(CompatStream):
    """Common ground: records are decoded JSON already, and carry only schema properties."""

    # Values come straight from json.loads (str, int, bool, None, list, dict): conforming
    # them to the schema changes nothing and was a large share of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known = frozenset(self.schema["properties"])
        self._dropped: set[str] = set()
        # What write_record works out once per selection mask: the writer, the deselected
        # top-level properties and the stream's unmapped name (None: worked out per record).
        self._write_plan: tuple[
            SelectionMask | None, BufferedMsgSpecWriter | None, tuple[str, ...] | None, str | None
        ] = (None, None, None, None)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Drop top-level properties the schema does not declare (warning once per name).

        Every record then matches the SCHEMA message, which targets build tables from;
        Recras adding a field never breaks a load. Nested objects are left as they are.
        """
        if row.keys() <= self._known:  # the common case: one set comparison
            return row
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
        return row

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


class KlantenStream(RecrasStream):
    """Customers from ``GET /api2/klanten``, incremental by ``id``.

    The list is not documented as sorted, so the bookmark is the highest id *seen*, promoted
    only when the run completes (the SDK's progress markers); a run that dies is resumed from
    the previous bookmark and re-reads, never skips. Contact persons come from one detail
    request per customer, made only when the nested property or the child stream is
    selected, concurrently (``max_workers``), and shared by both.
    """

    name = "klanten"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "id"
    schema = copy.deepcopy(KLANT_SCHEMA)
    # Customers are small and the state does not grow, so a STATE every 1,000 customers
    # costs nothing and lets a scheduler see progress.
    STATE_MSG_FREQUENCY = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Lines about single customers: a problem that many share is logged a few times.
        self._lines = CappedLog(self.logger)
        # This sync's progress markers once the SDK set them up (False: nothing to keep).
        self._bookmark_markers: dict[str, Any] | Literal[False] | None = None
        # The bookmark this sync started from (None: none), below which it never goes.
        self._resumed_from: int | None = None

    @override
    def advance_bookmark(self, record: Record, context: Context | None) -> None:
        """Keep the highest id seen as the bookmark this run promotes when it completes.

        The SDK's step per record looks the state entry up and converts both values for
        JSON, a noticeable share of the run (benchmarks/README.md). Its first step sets the
        progress markers up (incremental runs only), and ids are checked integers: from the
        second customer on, the highest is kept in those markers directly, as the SDK would.
        """
        markers = self._bookmark_markers
        if markers:
            markers["replication_key_value"] = max(markers["replication_key_value"], record["id"])
        elif markers is None:
            super().advance_bookmark(record, context)
            markers = self._bookmark_markers = self.pending_bookmark() or False
            if markers and self._resumed_from is not None:
                # The SDK's markers start at the first record, which may be a customer read
                # again below the bookmark (not_found_ids): promoted, they would move it back.
                markers["replication_key_value"] = max(
                    markers["replication_key_value"], self._resumed_from
                )

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never where the SDK would: before the first record (see :meth:`get_records`)."""
        return False

    @property
    def wants_persons(self) -> bool:
        """Whether anyone selected contact persons (nested property or child stream)."""
        return self.mask[NESTED_PERSONS] or self._persons_stream.selected

    @cached_property
    def _persons_stream(self) -> ContactpersonenStream:
        return next(s for s in self.child_streams if isinstance(s, ContactpersonenStream))

    def first_id(self, context: Context | None) -> int | None:
        """The smallest customer id this run extracts, or None for all.

        With a bookmark that is the bookmark + 1: the bookmark's own customer was sent.
        Without one (first run, or full table) it is the ``start_id`` setting.
        """
        bookmark = self.get_starting_replication_key_value(context)
        if bookmark is not None:
            return int(bookmark) + 1
        start_id = self.config.get("start_id")
        return int(start_id) if start_id is not None else None

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Yield customers; with contact persons when they are selected."""
        min_id = self.first_id(context)
        bookmark = self.get_starting_replication_key_value(context)
        self._resumed_from = None if bookmark is None else int(bookmark)
        self._bookmark_markers = None  # set up again by this sync's first customer
        self.syncs_children = self._persons_stream.selected
        self.logger.info(
            "Listing customers %s",
            f"from id {min_id}" if min_id is not None else "(all ids)",
        )
        # The docs call id> "the smallest id-value to allow" (>=), but a strict > is a
        # plausible reading too. Asking for one below the first id wanted and dropping that
        # one locally gives exactly the ids from min_id on under either reading.
        asked = min_id - 1 if min_id is not None else None
        # A full-table run's records carry its version, which is activated only once every
        # customer listed was sent: a target drops the rows of older versions when it
        # receives ACTIVATE_VERSION. Announced before the first record (the SDK's place),
        # that dropped every customer until the run sent it again, and for good the ones a
        # failed or stopped run never sent.
        version = self._full_table_version()
        if self.selected:
            self.stream_version = version
        self._persons_stream.stamp_version(version)
        # Each customer goes out once per run; those the previous run could not read are
        # read from their details first, and left out of the list.
        retried = self._not_found_before()
        seen = set(retried)
        batches = new_customers(self.recras.client.iter_klanten_batches(asked), min_id, seen)
        not_found: list[int] = []
        records: Iterator[Record] = chain(
            self._found_again(retried, self._give_up),
            self._with_persons(chain.from_iterable(batches), not_found)
            if self.wants_persons
            else chain.from_iterable(batches),  # one generator step per customer, no layers
        )
        if not self.selected:
            records = self._advancing(records, context)
        yield from records
        if self.replication_method == REPLICATION_FULL_TABLE:
            yield from self._found_again(not_found, self._refuse_to_close)
        else:
            self._keep_not_found(not_found)
        if version is not None:
            if self.selected:
                self.write_activate_version_message(version)
            self._persons_stream.activate_version()
        self._persons_stream.finish_run()
        self.recras.http_metrics.finish()
        if retries := self.recras.client.retries:
            self.logger.info("Requests to Recras were retried %d time(s) in this run", retries)

    def _full_table_version(self) -> int | None:
        """This full-table run's version, as the SDK numbers it (None: incremental, or off)."""
        if self.replication_method == REPLICATION_FULL_TABLE and self.config.get(
            "emit_activate_version_messages", True
        ):
            return self.recras.initialized_at // 1000
        return None

    def _with_persons(
        self, klanten: Iterator[dict[str, Any]], not_found: list[int]
    ) -> Iterator[Record]:
        """Customers with their contact persons; ids whose detail answered 404 go to a list."""
        pairs = fetch_in_order(klanten, self._persons_of, self.recras.max_workers)
        for klant, persons in pairs:
            if persons is None:
                not_found.append(klant["id"])
                continue
            # The child context reads the persons from the record; the SDK drops the nested
            # property from the RECORD message afterwards when it is not selected.
            klant[PERSONS_KEY] = persons
            yield klant

    def _found_again(
        self, ids: Iterable[int], give_up: Callable[[list[int]], None]
    ) -> Iterator[Record]:
        """The customers ``ids`` read from their details once more; ``give_up`` gets the rest.

        A detail holds every field of the list item, so the record is the same.
        """
        missing = []
        for klant_id in ids:
            try:
                detail = self.recras.client.get_klant(klant_id)
            except RecrasNotFoundError:
                missing.append(klant_id)
                continue
            source = f"GET {klant_path(klant_id)}"
            detail[PERSONS_KEY] = checked_persons(detail.get(PERSONS_KEY) or [], source)
            yield detail
        if missing:
            give_up(missing)

    def _not_found_before(self) -> list[int]:
        """Customers the previous incremental run listed but could not read (their detail 404)."""
        if self.replication_method == REPLICATION_FULL_TABLE:
            return []
        return list(self.stream_state.get(NOT_FOUND_IDS) or [])

    def _keep_not_found(self, not_found: list[int]) -> None:
        """Remember this run's 404s: the next run asks for them once more, then gives up.

        The bookmark moves past them meanwhile, so a 404 that was only temporary costs one
        more request, not a second reading of every customer after it.
        """
        if not_found:
            self.logger.warning(
                "%d listed customer(s) answered 404 for their detail and were left out: %s. "
                "The next incremental run asks for them once more.",
                len(not_found),
                _id_list(not_found),
            )
            self.stream_state[NOT_FOUND_IDS] = sorted(not_found)
        else:
            self.stream_state.pop(NOT_FOUND_IDS, None)

    def _give_up(self, missing: list[int]) -> None:
        self.logger.error(
            "Customer(s) %s answered 404 for their detail in this incremental run and the "
            "one before; they are given up and the bookmark stays past them. To read them "
            "again see docs/tap.md, 'Customers whose detail answers 404'.",
            _id_list(missing),
        )

    def _refuse_to_close(self, missing: list[int]) -> None:
        msg = (
            f"Customer(s) {_id_list(missing)} were listed but their detail answered 404, "
            "also when asked again at the end of this full-table run (deleted during the "
            "run?). The run ends without the closing ACTIVATE_VERSION, so no target drops a "
            "customer for it; the next full-table run will not list deleted customers."
        )
        raise IncompleteFullTableError(msg)

    def _advancing(self, klanten: Iterator[Record], context: Context | None) -> Iterator[Record]:
        """The customers, each moving the bookmark past it although this stream is deselected.

        The SDK keeps a bookmark for selected streams only. With contact persons selected
        alone, they are still read with their customers, from this stream's position: without
        it every incremental run would read every person again.
        """
        for klant in klanten:
            yield klant
            self.advance_bookmark(klant, context)

    def _persons_of(self, klant: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Contact persons of one customer (runs on a worker thread); None if deleted."""
        klant_id = klant["id"]
        listed = klant.get(PERSONS_KEY)
        if listed is not None:
            # The list already carries them (undocumented): no detail request needed.
            return checked_persons(listed, f"GET /api2/klanten, customer {klant_id}")
        try:
            detail = self.recras.client.get_klant(klant_id)
        except RecrasNotFoundError:
            self._lines.warning(
                "Customer %s was listed but its detail answered 404 (deleted during the run?)",
                klant_id,
            )
            return None
        return checked_persons(detail.get(PERSONS_KEY) or [], f"GET {klant_path(klant_id)}")

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """A child context only when the child stream is selected.

        The SDK asks for one per record and then finds no selected child to sync; skipping
        that saves a dict, a copy and a selection lookup per customer. The selection is
        looked up once per sync (:meth:`get_records`), and no generator is made per customer.
        """
        if self.syncs_children:
            return (self.get_child_context(record, context),)
        return ()

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context | None:
        """Hand the customer's contact persons to the child stream (no second request)."""
        return {"klant_id": record["id"], PERSONS_KEY: record.get(PERSONS_KEY) or []}


class ContactpersonenStream(RecrasStream):
    """Contact persons, one record per person per customer, in the customer's order.

    Every record comes from the parent's detail request, passed in the child context; this
    stream makes no request itself.
    """

    name = "contactpersonen"
    parent_stream_type = KlantenStream
    # A person linked to two customers is two records (one link each): keyed on ``id``
    # alone, a key-based target would keep one and drop the other link. Key properties are
    # "automatic" in the catalog, so ``klant_id`` is always sent.
    primary_keys: ClassVar[list[str]] = ["klant_id", "id"]
    schema = copy.deepcopy(CONTACTPERSOON_RECORD_SCHEMA)
    # One state entry for the whole stream, not one per customer (which grew the state,
    # and every STATE message, with every customer: benchmarks/README.md).
    state_partitioning_keys: ClassVar[list[str]] = []
    # No STATE per customer sync (one per customer, carrying only the parent's progress):
    # the parent writes STATE every STATE_MSG_FREQUENCY customers and at the end.
    writes_state_messages = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[dict[str, Any]] = []
        self._meters = RunMeters(self.name)
        self.logger.addFilter(_drop_per_customer_sync_lines)

    @override
    def get_record_counter(
        self,
        *,
        endpoint: str | None = None,
        log_interval: float = metrics.DEFAULT_LOG_INTERVAL,
    ) -> metrics.Counter:
        """One counter for the run, not one per customer (see :mod:`tap_recras.meters`)."""
        return self._meters.counter

    @override
    def get_sync_timer(self) -> metrics.Timer:
        """One timer for the run, not one per customer."""
        return self._meters.timer

    def finish_run(self) -> None:
        """Log the run's totals once the parent has sent its last customer."""
        if self.selected:
            self._meters.finish()

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never per customer: the parent activates a full-table version once per run."""
        return False

    def stamp_version(self, version: int | None) -> None:
        """Stamp this run's records with its full-table ``version`` (None: not versioned)."""
        if self.selected:
            self.stream_version = version

    def activate_version(self) -> None:
        """Activate the run's version now that every contact person was sent.

        The SCHEMA goes first: a target knows a stream only from its SCHEMA (target-postgres
        fails on an ACTIVATE_VERSION for a stream it has no SCHEMA for), and a run without
        any contact person sent none. The writer drops it where it was sent already.
        """
        if self.stream_version is not None:
            self.write_schema_message()
            self.write_activate_version_message(self.stream_version)

    @override
    def preprocess_context(self, context: Context) -> Context:
        """Keep the persons out of the context, which the SDK logs and puts in metrics."""
        self._pending = list(context.get(PERSONS_KEY) or [])
        return {"klant_id": context["klant_id"]}

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """The current customer's contact persons, with ``klant_id`` and ``positie``."""
        klant_id = context["klant_id"] if context else None
        persons, self._pending = self._pending, []
        for position, person in enumerate(persons):
            main = person.get("hoofdcontact")
            yield {
                **person,
                "klant_id": klant_id,
                "positie": position,
                # Recras lists the main contact first; trust an explicit flag when present.
                "hoofdcontact": main if isinstance(main, bool) else position == 0,
            }


def _drop_per_customer_sync_lines(record: logging.LogRecord) -> bool:
    """Filter out the SDK's "Beginning sync" INFO line, written once per customer."""
    return not str(record.msg).startswith("Beginning sync of")
