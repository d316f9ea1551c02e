"""Every resource beyond customers, and the links between them: :class:`Ledger`.

Holds one :class:`~recras_sandbox.resources.table.Table` per resource, which rows belong to
which (lines to their booking, invoice lines and payments to their invoice), the booking list
items with their lines (under ``booking_lines=list``) and the invoice lines by reference date
(for the ``factuurregels`` windows). Seeded from the customers of the
:class:`~recras_sandbox.store.Store`; with ``--db`` every row is written through to SQLite
and loaded again at the next start.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime
import gc
import json
import random
import threading
from collections.abc import Iterator

from recras_sandbox import seed as customer_seed
from recras_sandbox.options import SandboxOptions
from recras_sandbox.resources import money, reference
from recras_sandbox.resources.bookings import (
    GENERATED,
    INVOICE_STATUSES,
    Customer,
    Generator,
    Ids,
    Row,
    invoice_number,
    rates_of,
    settled_status,
)
from recras_sandbox.resources.database import RowsDatabase
from recras_sandbox.resources.money import cents
from recras_sandbox.resources.table import Record, Table
from recras_sandbox.store import Store

#: The reference tables (vendor notes), each served as ``/api2/<name>``.
REFERENCE_TABLES = (
    "producten",
    "productgroepen",
    "arrangementen",
    "locaties",
    "betaalmethoden",
    "bedrijven",
    "contactformulieren",
    "voucher_templates",
    "diensten",
)
#: Every table and the fields its endpoint filters on (or that links and windows need).
COLUMNS: dict[str, tuple[str, ...]] = {
    "boekingen": ("klant_id", "status", "datum"),
    "boekingsregels": ("boeking_id",),
    "facturen": ("klant_id", "boeking_id", "status", "bedrijf_id", "datum", "context"),
    "factuurregels": ("factuur_id", "product_id", "btw_percentage"),
    "betalingen": ("factuur_id",),
    **dict.fromkeys(REFERENCE_TABLES, ()),
}
#: Tables whose rows belong to a parent row, named by their first filter value.
_CHILDREN = ("boekingsregels", "factuurregels", "betalingen")

#: Sorted reference dates and the invoice line ids of each.
DateIndex = tuple[list[str], dict[str, list[int]]]


class LedgerError(ValueError):
    """A write the ledger refuses (unknown row, bad value); the message says why."""


class Ledger:
    """Thread-safe; every public method takes the lock."""

    def __init__(
        self, options: SandboxOptions, customers: Store, database: RowsDatabase | None = None
    ) -> None:
        """Empty tables under ``options``' readings, seeded from ``customers`` when asked."""
        self.lock = threading.RLock()
        self.options = options
        self._customers = customers
        self.tables = {name: Table(name, cols, options.money) for name, cols in COLUMNS.items()}
        self._children: dict[str, dict[int, list[int]]] = {name: {} for name in _CHILDREN}
        # List items with their lines, kept only under booking_lines=list.
        self._with_lines: dict[int, bytes] = {}
        self._date_index: dict[str, tuple[tuple[int, int, int], DateIndex]] = {}
        self._db = database

    @classmethod
    def open(cls, options: SandboxOptions, customers: Store) -> Ledger:
        """Empty tables, persisted to the SQLite file ``options.db`` names (if any)."""
        return cls(options, customers, RowsDatabase.open(options.db) if options.db else None)

    def close(self) -> None:
        """Close the SQLite file, if any."""
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ----------------------------------------------------------------- setup

    def load_or_seed(self, bookings: int, seed_value: int) -> bool:
        """Load the SQLite file if it holds rows, else generate the reference tables and
        ``bookings`` bookings (with invoices, lines, payments) of the store's customers.

        Returns True when existing data was loaded.
        """
        with self.lock:
            if self._db is not None:
                rows, max_ids = self._db.load()
                if rows:
                    loaded: dict[str, list[Record]] = {}
                    for name, _row_id, blob in rows:
                        canonical = bytes(blob)
                        record = self.tables[name].record(json.loads(canonical), canonical)
                        loaded.setdefault(name, []).append(record)
                    self._insert(loaded, persist=False)
                    for name, max_id in max_ids.items():
                        self.tables[name].max_id = max(self.tables[name].max_id, max_id)
                    return True
            with _collection_paused():
                data = reference.generate(seed_value)
                self._insert(self._records(data.tables))
                generator = self._generator(f"seed:{bookings}", data)
                generator.bookings(bookings, self._customers.summaries(), with_invoices=True)
                self._insert(generator.records.tables)
            return False

    # ----------------------------------------------------------------- reads

    def counts(self) -> dict[str, int]:
        """Rows per resource."""
        with self.lock:
            return {name: len(table) for name, table in self.tables.items()}

    def booking_detail(self, booking_id: int) -> bytes | None:
        """A booking with its ``boekingsregels`` (the detail), or None."""
        with self.lock:
            if booking_id not in self.tables["boekingen"]:
                return None
            return self._booking_with_lines(booking_id)

    def booking_items(self, ids: list[int]) -> list[bytes]:
        """Booking list items: with their lines under ``booking_lines=list``, else without."""
        with self.lock:
            # A booking deleted since the selection is left out.
            cache = self._with_lines if self.options.booking_lines == "list" else None
            get = self.tables["boekingen"].item if cache is None else cache.get
            return [item for item in map(get, ids) if item is not None]

    def children_ids(self, table: str, parent_id: int) -> list[int]:
        """The ids of the rows of child ``table`` belonging to ``parent_id``, ascending."""
        with self.lock:
            return sorted(self._children[table].get(parent_id, []))

    def rows(self, resource: str) -> list[bytes] | None:
        """Every row of ``resource`` as the API renders it (bookings with their lines, booking
        lines with ``boeking_id``); None for an unknown resource."""
        with self.lock:
            table = self.tables.get(resource)
            if table is None:
                return None
            ids = table.ids()
            if resource == "boekingen":
                return [self._booking_with_lines(i) for i in ids]
            return table.items(ids)

    def regel_ids_between(self, kind: str, begin: str, end: str, *, include_end: bool) -> list[int]:
        """Ids of the invoice lines whose reference date (``factuur``: the invoice's date,
        ``booking``: its booking's) lies in ``[begin, end]`` or ``[begin, end)``; lines of
        concept invoices have no date and never match."""
        with self.lock:
            dates, by_date = self._dates(kind)
            first = bisect.bisect_left(dates, begin)
            last = (bisect.bisect_right if include_end else bisect.bisect_left)(dates, end)
            ids = [i for day in dates[first:last] for i in by_date[day]]
            ids.sort()
            return ids

    # ----------------------------------------------------------------- writes

    def add_bookings(self, count: int) -> list[int]:
        """``count`` new bookings (with lines) of existing customers, ids above every id."""
        with self.lock:
            generator = self._generator(f"bookings:{count}")
            generator.bookings(count, self._customers.summaries(), with_invoices=False)
            self._insert(generator.records.tables)
            return generator.records.ids("boekingen")

    def delete_booking(self, booking_id: int) -> bool:
        """Delete a booking and its lines (its invoices stay: they are accounting records)."""
        with self.lock:
            bookings = self.tables["boekingen"]
            if not bookings.delete(booking_id):
                return False
            lines = self._children["boekingsregels"].pop(booking_id, [])
            for line_id in lines:
                self.tables["boekingsregels"].delete(line_id)
            self._with_lines.pop(booking_id, None)
            deleted = [("boekingen", booking_id)] + [("boekingsregels", i) for i in lines]
            self._save([], deleted)
            return True

    def add_invoices(self, count: int, day: datetime.date | None) -> list[int]:
        """``count`` new invoices (with lines) of existing bookings dated ``day`` (None: concept
        invoices), ``verzonden`` and unpaid."""
        with self.lock:
            bookings = self.tables["boekingen"]
            booking_ids = bookings.ids()
            if count > 0 and not booking_ids:
                raise LedgerError("There are no bookings to invoice")
            generator = self._generator(f"invoices:{count}:{day}")
            lines = self.tables["boekingsregels"]
            ordinal = None if day is None else day.toordinal()
            for _ in range(count):
                row = bookings.row(generator.rng.choice(booking_ids))
                line_rows = [lines.row(i) for i in self._children["boekingsregels"][row["id"]]]
                booking = generator.booking_of(row, line_rows)
                billed = [(product, aantal, line, False) for line, product, aantal in booking.lines]
                customer = self._customer(booking.klant_id)
                generator.invoice(booking, customer, ordinal, billed, pay=False)
            self._insert(generator.records.tables)
            return generator.records.ids("facturen")

    def set_invoice_status(self, invoice_id: int, status: str) -> None:
        """Change an invoice's status (and its lines' ``Factuur.status``). A concept that gets
        another status is dated today; an invoice set back to ``concept`` loses its date."""
        if status not in INVOICE_STATUSES:
            raise LedgerError(f"status must be one of {', '.join(INVOICE_STATUSES)}")
        with self.lock:
            invoice = self._invoice(invoice_id)
            invoice["status"] = status
            if status == "concept":
                invoice["datum"] = invoice["verstuur_factuur_op"] = None
            elif invoice["datum"] is None:
                today = datetime.date.today().isoformat()
                invoice["datum"] = invoice["verstuur_factuur_op"] = today
                invoice["factuur_nummer"] = invoice_number(today, invoice_id)
            self._rewrite_invoice(invoice)

    def add_payment(self, invoice_id: int, bedrag: str) -> int:
        """A payment of ``bedrag`` (a decimal string) on the invoice, made today; the invoice's
        status follows the sum of its payments (a concept stays a concept)."""
        try:
            value = cents(bedrag)
        except ValueError as exc:
            raise LedgerError(f"bedrag must be a decimal string, got {bedrag!r}") from exc
        with self.lock:
            invoice = self._invoice(invoice_id)
            payments = self.tables["betalingen"]
            regels = self.tables["factuurregels"]
            rates = rates_of(
                [regels.row(i) for i in self._children["factuurregels"].get(invoice_id, [])]
            )
            generator = self._generator(f"payment:{invoice_id}")
            today = generator.today
            customer = self._customer(invoice["klant_id"])
            payment_id = generator.payment(invoice_id, today, customer, value, rates, day=today)
            self._insert(generator.records.tables)
            if invoice["status"] != "concept":
                paid = sum(
                    cents(payments.row(i)["bedrag"])
                    for i in self._children["betalingen"][invoice_id]
                )
                total = cents(invoice["calculated_totaalbedrag_inclusief_btw"])
                invoice["status"] = settled_status(total, paid)
                self._rewrite_invoice(invoice)
            return payment_id

    # ----------------------------------------------------------------- internals

    def _generator(self, purpose: str, data: reference.ReferenceData | None = None) -> Generator:
        """A generator giving ids above every id used; its random sequence depends on the seed,
        the purpose and those ids, so the same calls on the same data give the same rows."""
        seed_value = self.options.seed
        starts = {
            name: customer_seed.next_start(self.tables[name].max_id, seed_value)
            for name in GENERATED
        }
        state = f"recras-sandbox:{seed_value}:{purpose}:{sorted(starts.items())}"
        rng = random.Random(state)  # noqa: S311 - not crypto
        if data is None:
            data = reference.ReferenceData(
                {
                    name: [self.tables[name].row(i) for i in self.tables[name].ids()]
                    for name in REFERENCE_TABLES
                }
            )
        today = datetime.date.today()
        return Generator(rng, data, Ids(starts), today, self.options.money)

    def _customer(self, klant_id: int) -> Customer:
        """The customer a row names; a deleted one is still named by its id."""
        return self._customers.summary(klant_id) or (klant_id, 1, "")

    def _invoice(self, invoice_id: int) -> Row:
        if invoice_id not in self.tables["facturen"]:
            raise LookupError(f"Invoice {invoice_id} not found")
        return self.tables["facturen"].row(invoice_id)

    def _rewrite_invoice(self, invoice: Row) -> None:
        """Store a changed invoice and the ``Factuur`` header its lines embed."""
        regels = self.tables["factuurregels"]
        changed = [regels.row(i) for i in self._children["factuurregels"].get(invoice["id"], [])]
        for regel in changed:
            regel["Factuur"].update(
                (key, invoice[key]) for key in ("datum", "status", "factuur_nummer")
            )
        self._insert(self._records({"facturen": [invoice], "factuurregels": changed}))

    def _records(self, tables: dict[str, list[Row]]) -> dict[str, list[Record]]:
        return {
            name: [self.tables[name].record(row) for row in rows] for name, rows in tables.items()
        }

    def _insert(self, tables: dict[str, list[Record]], *, persist: bool = True) -> None:
        """Put records into their tables, link them, and (unless loaded) persist them."""
        for name, records in tables.items():
            self.tables[name].put_all(records)
            self._link(name, records)
        if persist and self._db is not None:
            reading = self.options.money
            self._save(
                [
                    (name, row_id, money.canonical(item, reading))
                    for name, records in tables.items()
                    for row_id, item, _values in records
                ],
                [],
            )

    def _link(self, name: str, records: list[Record]) -> None:
        """Note which parent each child row belongs to (its first filter value names it), and
        keep the booking list items with their lines up to date."""
        if name in _CHILDREN:
            children = self._children[name]
            for row_id, _item, values in records:
                siblings = children.setdefault(values[0], [])
                if not siblings or siblings[-1] < row_id:
                    siblings.append(row_id)
                elif row_id not in siblings:
                    bisect.insort(siblings, row_id)
        if self.options.booking_lines != "list":
            return
        if name == "boekingen":
            touched = {record[0] for record in records}
        elif name == "boekingsregels":
            touched = {record[2][0] for record in records}
        else:
            return
        bookings = self.tables["boekingen"]
        for booking_id in touched:
            if booking_id in bookings:
                self._with_lines[booking_id] = self._booking_with_lines(booking_id)

    def _booking_with_lines(self, booking_id: int) -> bytes:
        bare = self.tables["boekingen"].item(booking_id)
        assert bare is not None
        lines = self.tables["boekingsregels"].items(
            self._children["boekingsregels"].get(booking_id, [])
        )
        # A line's first field is its boeking_id (an integer), which the API leaves out.
        inner = b",".join(b"{" + line[line.index(b",") + 1 :] for line in lines)
        return b"".join((bare[:-1], b',"boekingsregels":[', inner, b"]}"))

    def _dates(self, kind: str) -> DateIndex:
        """The invoice lines by reference date, rebuilt after any write that could move one."""
        invoices, regels, bookings = (
            self.tables[n] for n in ("facturen", "factuurregels", "boekingen")
        )
        version = (invoices.version, regels.version, bookings.version)
        cached = self._date_index.get(kind)
        if cached is not None and cached[0] == version:
            return cached[1]
        # The reference date of each invoice (its own, or its booking's), then of its lines.
        invoice_day: dict[int, str] = {}
        for invoice_id in invoices.ids():
            day = invoices.value(invoice_id, "datum")
            if day is not None and kind == "booking":
                booking_id = invoices.value(invoice_id, "boeking_id")
                day = bookings.value(booking_id, "datum") if booking_id in bookings else None
            if day is not None:
                invoice_day[invoice_id] = day
        by_date: dict[str, list[int]] = {}
        parent = regels.columns.index("factuur_id")
        for regel_id in regels.ids():
            day = invoice_day.get(regels.values(regel_id)[parent])
            if day is not None:
                by_date.setdefault(day, []).append(regel_id)
        index = (sorted(by_date), by_date)
        self._date_index[kind] = (version, index)
        return index

    def _save(self, rows: list[tuple[str, int, bytes]], deleted: list[tuple[str, int]]) -> None:
        if self._db is not None:
            max_ids = {name: table.max_id for name, table in self.tables.items()}
            self._db.save(rows, deleted, max_ids)


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Seeding makes a million objects and no reference cycles: collecting garbage while it
    runs only costs time (a tenth of the seed)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
