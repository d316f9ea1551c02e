"""Invoices (``facturen``), their payments (``betalingen``) and invoice lines
(``factuurregels``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE, REPLICATION_INCREMENTAL
from typing_extensions import override

from recras_api.client import item_path
from recras_api.errors import RecrasNotFoundError
from recras_api.paging import ListEndpoint
from tap_recras.checks import checked_list, dated_items, new_items
from tap_recras.streams.base import ChildStream, ListedStream, RecrasStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

FACTUREN = ListEndpoint("/api2/facturen", "invoice", "invoices")
FACTUURREGELS = ListEndpoint("/api2/factuurregels", "invoice line", "invoice lines")


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


class FacturenStream(ListedStream):
    """Invoices from ``GET /api2/facturen``: INCREMENTAL on ``datum`` by default.

    An invoice's status and payments change after its date [vendor notes, "Invoices"], so an
    incremental run reads again from ``lookback_days`` before the bookmark (the highest date
    seen). Whether ``datumNa`` keeps its own day is not documented: the run asks for the day
    before the first one wanted and keeps the invoices dated from it on, right under either
    reading. Concept invoices have no date and never match ``datumNa``: a FULL_TABLE run,
    which lists every invoice, sees them. Payments come from one request per invoice, made
    only when ``betalingen`` is selected.
    """

    name = "facturen"
    endpoint = FACTUREN
    replication_key = "datum"
    default_replication_method = REPLICATION_INCREMENTAL

    def first_day(self, context: Context | None) -> date | None:
        """The earliest invoice date this run sends (None: every invoice, dated or not)."""
        if self.replication_method == REPLICATION_FULL_TABLE:
            return None
        bookmark = self.get_starting_replication_key_value(context)
        if bookmark is None:
            return _day(str(self.config["start_date"]))
        return _day(bookmark) - timedelta(days=int(self.config["lookback_days"]))

    @override
    def list_params(self, context: Context | None) -> dict[str, Any] | None:
        first = self.first_day(context)
        return None if first is None else {"datumNa": (first - timedelta(days=1)).isoformat()}

    @override
    def listed(self, context: Context | None) -> Iterator[list[dict[str, Any]]]:
        """The invoices dated from :meth:`first_day` on (all of them on a full-table run)."""
        batches = dated_items(super().listed(context), self.endpoint, self.replication_key)
        first = self.first_day(context)
        if first is None:
            return batches
        first_text = first.isoformat()
        return (
            [item for item in batch if isinstance(d := item.get("datum"), str) and d >= first_text]
            for batch in batches
        )

    @override
    def children_of(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The invoice's payments (``GET /api2/facturen/<id>/betalingen``; on a worker thread).

        A 404 means the invoice was deleted since it was listed: it has no payments left.
        """
        path = f"{item_path(FACTUREN, item['id'])}/betalingen"
        payments = ListEndpoint(path, "payment", "payments")
        try:
            listed = list(chain.from_iterable(self.recras.client.iter_list_batches(payments)))
        except RecrasNotFoundError:
            self._lines.warning(
                "Invoice %s was listed but its payments answered 404 (deleted during the run?)",
                item["id"],
            )
            return []
        return checked_list(listed, BetalingenStream.name, f"GET {path}")


class BetalingenStream(ChildStream):
    """Payments of each invoice, keyed with the invoice's id."""

    name = "betalingen"
    parent_stream_type = FacturenStream
    parent_key = "factuur_id"
    primary_keys: ClassVar[list[str]] = ["factuur_id", "id"]


def windows(first: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    """``(begin, eind)`` pairs of ``days`` days from ``first`` until one ends at ``end``.

    Each window begins on the day the one before ended: whether ``eind`` is inclusive is not
    documented, and under either reading every day is in some window (a line read twice is
    sent once).
    """
    begin = first
    while True:
        eind = min(begin + timedelta(days=days), end)
        yield begin, eind
        if eind >= end:
            return
        begin = eind


class FactuurregelsStream(RecrasStream):
    """Invoice lines from ``GET /api2/factuurregels``, in date windows (``begin``/``eind``).

    Both dates are required [vendor notes, "Invoice lines"]: a run reads windows of
    ``window_days`` from ``start_date`` (after a run: the bookmark minus ``lookback_days``)
    to tomorrow, so today's invoices are in the last window under either reading of
    ``eind``. The bookmark is the last window's end, kept when the run completes (a
    FULL_TABLE run reads from ``start_date`` and closes its version instead). The
    records carry no date of their own, so the stream has no replication key: its state
    says where the next run begins (``replication_key`` ``eind``).
    """

    name = "factuurregels"
    primary_keys: ClassVar[list[str]] = ["id"]
    default_replication_method = REPLICATION_INCREMENTAL
    #: What the bookmark holds: the ``eind`` of the last window read.
    bookmark_key = "eind"
    STATE_MSG_FREQUENCY = 1000
    selected_by_default = False

    @override
    def advance_bookmark(self, record: Record, context: Context | None) -> None:
        """Nothing per record: the bookmark moves when the last window was read."""

    def first_day(self) -> date:
        """The ``begin`` of this run's first window."""
        state = self.stream_state
        bookmark = state.get("replication_key_value")
        if self.replication_method == REPLICATION_FULL_TABLE or not bookmark:
            return _day(str(self.config["start_date"]))
        return _day(bookmark) - timedelta(days=int(self.config["lookback_days"]))

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Every line of every window, once each; a full-table run's version activated last."""
        version = self.stream_version = self.full_table_version()
        end = date.today() + timedelta(days=1)
        seen: set[int] = set()
        client = self.recras.client
        for begin, eind in windows(self.first_day(), end, int(self.config["window_days"])):
            query = {"begin": begin.isoformat(), "eind": eind.isoformat()}
            batches = client.iter_list_batches(FACTUURREGELS, query)
            yield from chain.from_iterable(new_items(batches, FACTUURREGELS, None, seen))
        if self.replication_method == REPLICATION_INCREMENTAL:
            self._keep_bookmark(end)
        if version is not None:
            self.write_activate_version_message(version)

    def _keep_bookmark(self, end: date) -> None:
        """Bookmark ``end`` (never a date before the one the run started from)."""
        state = self.stream_state
        before = state.get("replication_key_value")
        state["replication_key"] = self.bookmark_key
        state["replication_key_value"] = max(end.isoformat(), before or "")
        self.records_written()  # the closing STATE carries it, records or not
