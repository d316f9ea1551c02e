"""Generated bookings with their lines, invoices with theirs, payments and shifts.

Everything is linked as in Recras: bookings of existing customers, booking lines at seeded
locations, invoices of bookings (customer, booking and company consistent), invoice lines of
seeded products naming the booking line they bill, totals the sum of the lines, credit notes
naming the invoice they credit with negative totals, concept invoices without a date, and
payments whose sum decides whether an invoice is partly paid or paid. Dates fall in the two
years before ``today``; the same arguments always give the same rows.

A hundred thousand bookings come with some 800,000 rows, so rows are written straight as
JSON with one ``%`` format each (as :mod:`recras_sandbox.seed` does for customers), never
built as dicts and serialized.
"""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any

from recras_sandbox.resources.money import amount, cents
from recras_sandbox.resources.reference import ReferenceData
from recras_sandbox.resources.table import Record

Row = dict[str, Any]
#: A customer a booking can belong to: id, company (bedrijf_id) and display name.
Customer = tuple[int, int, str]
#: What an invoice line bills: product (None: no product), quantity, booking line id, discount.
Billed = tuple[Row | None, int, int | None, bool]

#: The tables the generator adds rows to.
GENERATED = ("boekingen", "boekingsregels", "facturen", "factuurregels", "betalingen", "diensten")
BOOKING_STATUSES = ("informatie", "reservering", "definitief", "pending_online", "geannuleerd")
_STATUS_WEIGHTS = (0.10, 0.25, 0.85, 0.90)
INVOICE_STATUSES = ("concept", "verzonden", "deels_betaald", "betaald")
_SHIFT_STATUSES = ("concept", "gevraagd", "bevestigd", "geannuleerd", "geweigerd")
_DAYS = 730
_OFFSET = "+01:00"
_NULL = "null"
_REMARKS = tuple(
    _NULL if text is None else encode_basestring_ascii(text)
    for text in (None, None, None, "", "Graag een rustige tafel", "Twee personen glutenvrij")
)
_REMARK_COUNT = len(_REMARKS)
_DISCOUNT = encode_basestring_ascii("10% groepskorting")
_NO_PRODUCT = encode_basestring_ascii("Diversen")

_BOOKING = (
    '{"id":%d,"klant_id":%d,"datum":"%s","status":"%s","arrangement":%s,"arrangement_id":%s,'
    '"personen":%d,"status_updated_at":"%s","online_boeking":%s,"status_vervaldatum":%s,'
    '"bijzonderheden":%s,"conceptfactuur_na_dagen":%s,"referentie":"%d-%d"}'
)
# The API leaves boeking_id out of a line (it sits inside its booking); the admin rows keep it.
_LINE = (
    '{"boeking_id":%d,"id":%d,"locatie_id":%d,"aantal":%d,"begin":"%s","eind":"%s",'
    '"minimum_aantal":%d,"beschrijving":%s,"opmerking":%s}'
)
_INVOICE = (
    '{"id":%d,"klant_id":%d,"boeking_id":%d,"context":"%s","status":"%s","factuur_nummer":%s,'
    '"verstuur_factuur_op":%s,"datum":%s,"pdf_locatie":%s,"opmerking":%s,"aantal_personen":%d,'
    '"betaaltermijn":%d,"referentie_klant":%s,"reference_external":null,"herinnering1":%s,'
    '"herinnering2":%s,"calculated_totaalbedrag_inclusief_btw":%s,"mollie_transaction_id":%s,'
    '"crediteert_factuur_id":%s,"bedrijf_id":%d,"btw_verlegd":%s}'
)
_HEADER = '{"id":%d,"klant_id":%d,"datum":%s,"status":"%s","factuur_nummer":%s,"bedrijf_id":%d}'
_REGEL = (
    '{"id":%d,"factuur_id":%d,"naam":%s,"kortingomschrijving":%s,"aantal":%d,"bedrag":%s,'
    '"btw_percentage":%d,"product_id":%s,"boekingsregel_id":%s,"kortingsfactor":%s,'
    '"totaal_inc_btw":%s,"totaal_exc_btw":%s,"Factuur":%s}'
)
_PAYMENT = (
    '{"id":%d,"factuur_id":%d,"wanneer":"%s","bedrag":%s,"opmerking":%s,"betaalmethode_id":%d,'
    '"pos_id":%s,"location_id":%s,"btw":{%s},"klant":{"id":%d,"naam":%s}}'
)
_SHIFT = (
    '{"id":%d,"begin":"%s","eind":"%s","boeking_id":%d,"locatie_id":%d,"kwalificatie_id":%d,'
    '"personeel_id":%d,"status":"%s","noot":%s,"opmerking":%s,"internal_reference":"D-%d"}'
)


@dataclass
class Booking:
    """What invoicing a booking needs to know of it."""

    id: int
    klant_id: int
    day: int
    status: str
    personen: int
    online: bool
    #: Its lines: (line id, product or None, quantity).
    lines: list[tuple[int, Row | None, int]]


@dataclass
class Ids:
    """The next id of each generated table."""

    next: dict[str, int]

    def take(self, table: str, rng: random.Random) -> int:
        """A new id; small gaps, as real ids have (deleted rows)."""
        value = self.next[table]
        self.next[table] = value + 1 + (rng.random() < 0.1)
        return value


@dataclass
class Records:
    """Generated rows by table."""

    tables: dict[str, list[Record]] = field(
        default_factory=lambda: {name: [] for name in GENERATED}
    )

    def ids(self, table: str) -> list[int]:
        return [record[0] for record in self.tables[table]]


class Generator:
    """Makes linked rows from a seeded random generator; see the module docstring."""

    def __init__(
        self,
        rng: random.Random,
        reference: ReferenceData,
        ids: Ids,
        today: datetime.date,
        money_reading: str,
    ) -> None:
        self.rng = rng
        self.ids = ids
        self.today = today.toordinal()
        self.records = Records()
        self._quote = money_reading == "strings"
        self._products = reference.products
        self._products_by_name = {p["naam"]: p for p in self._products}
        self._names_json = {p["id"]: encode_basestring_ascii(p["naam"]) for p in self._products}
        self._prices = {p["id"]: cents(p["verkoop"]) for p in self._products}
        self._extras = self._products[6:12]
        self._companies = {c["id"]: c for c in reference.tables["bedrijven"]}
        self._locaties = reference.ids("locaties")
        self._methods = reference.tables["betaalmethoden"]
        self._packages = reference.tables["arrangementen"]
        self._references: dict[int, int] = {}
        self._names: dict[int, str] = {}
        self._amounts: dict[int, str] = {}

    # ------------------------------------------------------------ bookings

    def bookings(self, count: int, customers: list[Customer], *, with_invoices: bool) -> None:
        """``count`` bookings of ``customers`` (none when there are no customers)."""
        if not customers:
            return
        rand = self.rng.random
        for _ in range(count):
            customer = customers[int(rand() * len(customers))]
            booking = self.booking(customer[0])
            if with_invoices:
                self._invoices_of(booking, customer)

    def booking(self, klant_id: int) -> Booking:
        """A booking of customer ``klant_id`` with 1-4 lines."""
        rng = self.rng
        rand = rng.random
        booking_id = self.ids.take("boekingen", rng)
        day = self.today - int(rand() * _DAYS)
        roll = rand()
        status = BOOKING_STATUSES[sum(roll >= w for w in _STATUS_WEIGHTS)]
        package = _pick(self._packages, rand) if rand() < 0.4 else None
        personen = package["aantal_personen"] if package else 2 + int(rand() * 59)
        online = rand() < 0.25
        number = self._references[klant_id] = self._references.get(klant_id, 0) + 1
        datum = _date(day)
        item = _BOOKING % (
            booking_id,
            klant_id,
            datum,
            status,
            encode_basestring_ascii(package["weergavenaam"]) if package else _NULL,
            package["id"] if package else _NULL,
            personen,
            _datetime(day - int(rand() * 60), 8 + int(rand() * 14), int(rand() * 60)),
            "true" if online else "false",
            f'"{_date(day - 7)}"' if status == "reservering" else _NULL,
            _REMARKS[int(rand() * _REMARK_COUNT)],
            _pick((_NULL, _NULL, "7", "14"), rand),
            klant_id,
            number,
        )
        self.records.tables["boekingen"].append(
            (booking_id, item.encode("ascii"), (klant_id, status, datum))
        )
        if package:
            products = [regel["product"] for regel in package["regels"]][:4]
        else:
            products = rng.sample(self._products, 1 + int(rand() * 4))
        lines = []
        hour = 9 + int(rand() * 6)
        for product in products:
            line_id = self.ids.take("boekingsregels", rng)
            hours = max(1, _hours(product["duur"]))
            aantal = personen if product["aantalbepaling"] == "per_persoon" else 1
            item = _LINE % (
                booking_id,
                line_id,
                _pick(self._locaties, rand),
                aantal,
                _datetime(day, hour, 0),
                _datetime(day, min(hour + hours, 23), 0),
                product["minimum_aantal"],
                self._names_json[product["id"]],
                _REMARKS[int(rand() * _REMARK_COUNT)],
            )
            self.records.tables["boekingsregels"].append(
                (line_id, item.encode("ascii"), (booking_id,))
            )
            lines.append((line_id, product, aantal))
            hour = min(hour + hours, 22)
        if status == "definitief" and rand() < 0.1:
            self._shift(booking_id, lines[0][0], day, hour)
        return Booking(booking_id, klant_id, day, status, personen, online, lines)

    def booking_of(self, booking: Row, lines: list[Row]) -> Booking:
        """A stored booking and its stored lines, to invoice them."""
        return Booking(
            booking["id"],
            booking["klant_id"],
            datetime.date.fromisoformat(booking["datum"]).toordinal(),
            booking["status"],
            booking["personen"],
            booking["online_boeking"],
            [
                (line["id"], self._products_by_name.get(line["beschrijving"]), line["aantal"])
                for line in lines
            ],
        )

    def _shift(self, booking_id: int, line_id: int, day: int, hour: int) -> None:
        rng = self.rng
        rand = rng.random
        shift_id = self.ids.take("diensten", rng)
        status = "bevestigd" if day < self.today - 7 else _pick(_SHIFT_STATUSES, rand)
        item = _SHIFT % (
            shift_id,
            _datetime(day, max(hour - 2, 0), 0),
            _datetime(day, hour, 0),
            booking_id,
            _pick(self._locaties, rand),
            1 + int(rand() * 3),
            1 + int(rand() * 10),
            status,
            _REMARKS[int(rand() * _REMARK_COUNT)],
            _REMARKS[int(rand() * _REMARK_COUNT)],
            shift_id,
        )
        self.records.tables["diensten"].append((shift_id, item.encode("ascii"), ()))

    # ------------------------------------------------------------ invoices

    def _invoices_of(self, booking: Booking, customer: Customer) -> None:
        """About 1.2 invoices a booking: the main one, sometimes one for extras, and now and
        then a credit note of the main one; a tenth of the invoices are concepts."""
        rand = self.rng.random
        if booking.status == "informatie" or rand() < 0.1:
            return
        day = booking.day
        billed = [
            (product, aantal, line_id, rand() < 0.1) for line_id, product, aantal in booking.lines
        ]
        main_day = self._invoice_day(day - 14, day + 7)
        main_id = self.invoice(booking, customer, main_day, billed, pay=True)
        if rand() < 0.25:
            extras = [
                (
                    _pick(self._extras, rand) if rand() < 0.8 else None,
                    1 + int(rand() * 19),
                    None,
                    False,
                )
                for _ in range(1 + int(rand() * 2))
            ]
            self.invoice(booking, customer, self._invoice_day(day, day + 20), extras, pay=True)
        if main_day is not None and rand() < 0.06:
            credit_day = min(main_day + 1 + int(rand() * 30), self.today)
            credited = [(product, -aantal, line, off) for product, aantal, line, off in billed]
            self.invoice(booking, customer, credit_day, credited, pay=True, credits=main_id)

    def _invoice_day(self, first: int, last: int) -> int | None:
        """A date in [first, last] not after today, or None (a concept) one time in ten."""
        rand = self.rng.random
        if rand() < 0.1:
            return None
        return min(first + int(rand() * (last - first + 1)), self.today)

    def invoice(
        self,
        booking: Booking,
        customer: Customer,
        day: int | None,
        billed: Sequence[Billed],
        *,
        pay: bool,
        credits: int | None = None,
    ) -> int:
        """An invoice of ``booking`` billing ``billed``: a concept without ``day``, else
        ``verzonden``, or (with ``pay``) paid in 0-3 payments with the status their sum gives;
        a credit note when it ``credits`` an invoice id. Returns its id."""
        rng = self.rng
        rand = rng.random
        invoice_id = self.ids.take("facturen", rng)
        company = self._companies.get(customer[1]) or self._companies[1]
        datum = _NULL if day is None else f'"{_date(day)}"'
        regels = []
        rates: dict[int, int] = {}
        for product, aantal, line_id, discounted in billed:
            price = self._prices[product["id"]] if product else 100 + int(rand() * 2400)
            rate = product["btw"] if product else 21
            inc = round(aantal * price * (0.9 if discounted else 1))
            rates[rate] = rates.get(rate, 0) + inc
            regels.append((product, aantal, line_id, discounted, price, rate, inc))
        total = sum(rates.values())
        status = "concept" if day is None else "verzonden"
        parts = self._payments(total) if pay and day is not None else []
        if parts:
            status = settled_status(total, sum(parts))
        nummer = _NULL if day is None else f'"{invoice_number(_date(day), invoice_id)}"'
        context = "online_booking" if booking.online else "invoice"
        termijn = company["factuur_betaaltermijn"]
        reminders = [_NULL, _NULL]
        if day is not None and total > 0 and status in ("verzonden", "deels_betaald"):
            for index, after in enumerate((termijn + 7, termijn + 21)):
                if day + after <= self.today:
                    reminders[index] = f'"{_date(day + after)}"'
        paid_online = status == "betaald" and booking.online
        item = _INVOICE % (
            invoice_id,
            booking.klant_id,
            booking.id,
            context,
            status,
            nummer,
            datum,
            datum,
            _NULL if day is None else f'"{invoice_id}-{int(rand() * 16**8):08x}.pdf"',
            _REMARKS[int(rand() * _REMARK_COUNT)],
            booking.personen,
            termijn,
            f'"PO-{int(rand() * 10**5):05d}"' if rand() < 0.2 else _NULL,
            reminders[0],
            reminders[1],
            self._money(total),
            f'"tr_{int(rand() * 36**10):x}"' if paid_online else _NULL,
            _NULL if credits is None else credits,
            company["id"],
            "true" if customer[1] == 2 and rand() < 0.05 else "false",
        )
        values = (booking.klant_id, booking.id, status, company["id"], _json_date(day), context)
        self.records.tables["facturen"].append((invoice_id, item.encode("ascii"), values))
        header = _HEADER % (invoice_id, booking.klant_id, datum, status, nummer, company["id"])
        self._invoice_lines(invoice_id, regels, header)
        for part in parts:
            self.payment(invoice_id, day, customer, part, rates)
        return invoice_id

    def _invoice_lines(self, invoice_id: int, regels: list[tuple[Any, ...]], header: str) -> None:
        out = self.records.tables["factuurregels"]
        for product, aantal, line_id, discounted, price, rate, inc in regels:
            regel_id = self.ids.take("factuurregels", self.rng)
            product_id = product["id"] if product else None
            item = _REGEL % (
                regel_id,
                invoice_id,
                self._names_json[product["id"]] if product else _NO_PRODUCT,
                _DISCOUNT if discounted else _NULL,
                aantal,
                self._money(price),
                rate,
                _NULL if product_id is None else product_id,
                _NULL if line_id is None else line_id,
                "0.9" if discounted else "1",
                self._money(inc),
                self._money(round(inc * 100 / (100 + rate))),
                header,
            )
            out.append((regel_id, item.encode("ascii"), (invoice_id, product_id, rate)))

    # ------------------------------------------------------------ payments

    def _payments(self, total: int) -> list[int]:
        """The parts a new invoice is paid in: a credit note none or its refund, another
        invoice 0-3 payments adding up to the total seven times in ten, else to part of it."""
        rand = self.rng.random
        if total < 0:
            return [total] if rand() < 0.5 else []
        count = _pick((0, 1, 1, 2, 3), rand)
        paid = total if rand() < 0.7 else total * (10 + int(rand() * 80)) // 100
        return _split(paid, count, self.rng)

    def payment(
        self,
        invoice_id: int,
        invoice_day: int | None,
        customer: Customer,
        bedrag: int,
        rates: dict[int, int],
        *,
        day: int | None = None,
    ) -> int:
        """A payment of ``bedrag`` cents on an invoice dated ``invoice_day`` (whose totals per
        VAT rate are ``rates``), made on ``day`` or within 30 days of the invoice date, not
        after today. Returns its id."""
        rng = self.rng
        rand = rng.random
        method = _pick(self._methods, rand)
        if day is None:
            start = self.today if invoice_day is None else invoice_day
            day = min(start + int(rand() * 30), self.today)
        at_till = "1" if method["weergeven_in_kassa"] else _NULL
        split = ",".join(
            f'"{rate}":{{"btw":{self._money(vat)},"bedrag":{self._money(share)}}}'
            for rate, (vat, share) in vat_split(bedrag, rates).items()
        )
        name = self._names.get(customer[0])
        if name is None:
            name = self._names[customer[0]] = encode_basestring_ascii(customer[2])
        payment_id = self.ids.take("betalingen", rng)
        item = _PAYMENT % (
            payment_id,
            invoice_id,
            _datetime(day, 8 + int(rand() * 15), int(rand() * 60)),
            self._money(bedrag),
            _REMARKS[int(rand() * _REMARK_COUNT)],
            method["id"],
            at_till,
            at_till,
            split,
            customer[0],
            name,
        )
        self.records.tables["betalingen"].append((payment_id, item.encode("ascii"), (invoice_id,)))
        return payment_id

    def _money(self, value: int) -> str:
        """An amount in cents as the ``money`` reading sends it (prices and their multiples
        repeat, so each is formatted once)."""
        text = self._amounts.get(value)
        if text is None:
            text = amount(value)
            text = self._amounts[value] = f'"{text}"' if self._quote else text
        return text


def invoice_number(datum: str, invoice_id: int) -> str:
    """The number a sent invoice gets: its year and id (``2026000042``)."""
    return f"{datum[:4]}{invoice_id:06d}"


def rates_of(regels: list[Row]) -> dict[int, int]:
    """An invoice's total per VAT rate, in cents, from its stored lines."""
    rates: dict[int, int] = {}
    for regel in regels:
        rate = regel["btw_percentage"]
        rates[rate] = rates.get(rate, 0) + cents(regel["totaal_inc_btw"])
    return rates


def settled_status(total: int, paid: int) -> str:
    """``betaald`` when the payments add up to the total, ``deels_betaald`` when they cover
    part of it, ``verzonden`` when there are none (never ``concept``: that has no date)."""
    if paid == 0 and total != 0:
        return "verzonden"
    if paid == total:
        return "betaald"
    return "deels_betaald"


def vat_split(bedrag: int, rates: dict[int, int]) -> dict[int, tuple[int, int]]:
    """A payment's ``btw`` object as cents: per VAT rate (VAT contained, share of the amount),
    the amount split in proportion to the rates' totals; the last rate takes the rest."""
    total = sum(rates.values())
    split: dict[int, tuple[int, int]] = {}
    rest = bedrag
    ordered = sorted(rates) or [21]
    for index, rate in enumerate(ordered):
        last = index == len(ordered) - 1
        share = rest if last or not total else round(bedrag * rates[rate] / total)
        rest -= share
        split[rate] = (round(share * rate / (100 + rate)), share)
    return split


def _split(total: int, count: int, rng: random.Random) -> list[int]:
    """``total`` cents in ``count`` positive parts (fewer when the total is too small)."""
    count = min(count, total)
    if count <= 0:
        return []
    cuts = sorted(rng.sample(range(1, total), count - 1)) if count > 1 else []
    return [b - a for a, b in itertools.pairwise([0, *cuts, total])]


def _pick(options: Any, rand: Any) -> Any:
    """One of ``options``; cheaper than ``Random.choice`` in a loop of a million."""
    return options[int(rand() * len(options))]


def _hours(duur: str) -> int:
    """Whole hours of an ISO 8601 duration such as ``PT2H`` or ``PT30M``."""
    return int(duur[2:-1]) if duur.endswith("H") else 0


_DATE_CACHE: dict[int, str] = {}


def _date(day: int) -> str:
    text = _DATE_CACHE.get(day)
    if text is None:
        text = _DATE_CACHE[day] = datetime.date.fromordinal(day).isoformat()
    return text


def _json_date(day: int | None) -> str | None:
    return None if day is None else _date(day)


#: "T08:05:00+01:00" for each hour and minute, made once.
_CLOCK = [[f"T{hour:02d}:{minute:02d}:00{_OFFSET}" for minute in range(60)] for hour in range(24)]


def _datetime(day: int, hour: int, minute: int) -> str:
    return _date(day) + _CLOCK[hour][minute]
