"""Generated bookings with their lines, invoices with theirs, payments and shifts.

Everything is linked as in Recras: bookings of existing customers, booking lines at seeded
locations, invoices of bookings (customer, booking and company consistent), invoice lines of
seeded products naming the booking line they bill, totals the sum of the lines, credit notes
naming the invoice they credit with negative totals, concept invoices without a date, and
payments whose sum decides whether an invoice is partly paid or paid. Dates fall in the two
years before ``today``; the same arguments always give the same rows.
"""

from __future__ import annotations

import datetime
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from recras_sandbox.resources.money import amount, cents
from recras_sandbox.resources.reference import ReferenceData

Row = dict[str, Any]

#: A customer a booking can belong to: id, company (bedrijf_id) and display name.
Customer = tuple[int, int, str]

BOOKING_STATUSES = ("informatie", "reservering", "definitief", "pending_online", "geannuleerd")
_STATUS_WEIGHTS = (10, 25, 85, 90, 100)
INVOICE_STATUSES = ("concept", "verzonden", "deels_betaald", "betaald")
_DAYS = 730
_OFFSET = "+01:00"
_REMARKS = (None, None, None, "", "Graag een rustige tafel", "Twee personen glutenvrij")
_DISCOUNT = "10% groepskorting"
_SHIFT_STATUSES = ("concept", "gevraagd", "bevestigd", "geannuleerd", "geweigerd")


@dataclass
class Rows:
    """Generated rows by table name, canonical (amounts as decimal strings)."""

    tables: dict[str, list[Row]] = field(
        default_factory=lambda: {
            name: []
            for name in (
                "boekingen",
                "boekingsregels",
                "facturen",
                "factuurregels",
                "betalingen",
                "diensten",
            )
        }
    )

    def ids(self, table: str) -> list[int]:
        return [row["id"] for row in self.tables[table]]


@dataclass
class Ids:
    """The next id of each generated table."""

    next: dict[str, int]

    def take(self, table: str, rng: random.Random) -> int:
        """A new id; small gaps, as real ids have (deleted rows)."""
        value = self.next[table]
        self.next[table] = value + 1 + (rng.random() < 0.1)
        return value


class Generator:
    """Makes linked rows from a seeded random generator; see the module docstring."""

    def __init__(
        self,
        rng: random.Random,
        reference: ReferenceData,
        ids: Ids,
        today: datetime.date,
    ) -> None:
        self.rng = rng
        self.ref = reference
        self.ids = ids
        self.today = today.toordinal()
        self.rows = Rows()
        self._products_by_name = {p["naam"]: p for p in reference.products}
        self._companies = {c["id"]: c for c in reference.tables["bedrijven"]}
        self._locaties = reference.ids("locaties")
        self._methods = reference.tables["betaalmethoden"]
        self._packages = reference.tables["arrangementen"]
        self._references: dict[int, int] = {}

    # ------------------------------------------------------------ bookings

    def bookings(self, count: int, customers: list[Customer], *, with_invoices: bool) -> None:
        """``count`` bookings of ``customers`` (none when there are no customers)."""
        if not customers:
            return
        rng = self.rng
        for _ in range(count):
            customer = rng.choice(customers)
            booking, lines = self.booking(customer)
            if with_invoices:
                self._invoices_of(booking, lines, customer)

    def booking(self, customer: Customer) -> tuple[Row, list[Row]]:
        rng = self.rng
        klant_id = customer[0]
        booking_id = self.ids.take("boekingen", rng)
        day = self.today - rng.randrange(_DAYS)
        status = rng.choices(BOOKING_STATUSES, cum_weights=_STATUS_WEIGHTS)[0]
        package = rng.choice(self._packages) if rng.random() < 0.4 else None
        personen = package["aantal_personen"] if package else rng.randrange(2, 61)
        self._references[klant_id] = self._references.get(klant_id, 0) + 1
        updated = day - rng.randrange(60)
        booking = {
            "id": booking_id,
            "klant_id": klant_id,
            "datum": _date(day),
            "status": status,
            "arrangement": package["weergavenaam"] if package else None,
            "arrangement_id": package["id"] if package else None,
            "personen": personen,
            "status_updated_at": _datetime(updated, rng.randrange(8, 22), rng.randrange(60)),
            "online_boeking": rng.random() < 0.25,
            "status_vervaldatum": _date(day - 7) if status == "reservering" else None,
            "bijzonderheden": rng.choice(_REMARKS),
            "conceptfactuur_na_dagen": rng.choice((None, None, 7, 14)),
            "referentie": f"{klant_id}-{self._references[klant_id]}",
        }
        if package:
            products = [regel["product"] for regel in package["regels"]][:4]
        else:
            products = rng.sample(self.ref.products, rng.randrange(1, 5))
        lines = []
        hour = rng.randrange(9, 15)
        for product in products:
            hours = max(1, _hours(product["duur"]))
            per_person = product["aantalbepaling"] == "per_persoon"
            lines.append(
                {
                    # The API leaves boeking_id out: the line sits inside its booking.
                    "boeking_id": booking_id,
                    "id": self.ids.take("boekingsregels", rng),
                    "locatie_id": rng.choice(self._locaties),
                    "aantal": personen if per_person else 1,
                    "begin": _datetime(day, hour, 0),
                    "eind": _datetime(day, min(hour + hours, 23), 0),
                    "minimum_aantal": product["minimum_aantal"],
                    "beschrijving": product["naam"],
                    "opmerking": rng.choice(_REMARKS),
                }
            )
            hour = min(hour + hours, 22)
        self.rows.tables["boekingen"].append(booking)
        self.rows.tables["boekingsregels"].extend(lines)
        if status == "definitief" and rng.random() < 0.1:
            self._shift(booking_id, lines[0], day)
        return booking, lines

    def _shift(self, booking_id: int, line: Row, day: int) -> None:
        rng = self.rng
        shift_id = self.ids.take("diensten", rng)
        self.rows.tables["diensten"].append(
            {
                "id": shift_id,
                "begin": line["begin"],
                "eind": line["eind"],
                "boeking_id": booking_id,
                "locatie_id": line["locatie_id"],
                "kwalificatie_id": rng.randrange(1, 4),
                "personeel_id": rng.randrange(1, 11),
                "status": "bevestigd" if day < self.today - 7 else rng.choice(_SHIFT_STATUSES),
                "noot": rng.choice(_REMARKS),
                "opmerking": rng.choice(_REMARKS),
                "internal_reference": f"D-{shift_id}",
            }
        )

    # ------------------------------------------------------------ invoices

    def _invoices_of(self, booking: Row, lines: list[Row], customer: Customer) -> None:
        rng = self.rng
        day = _ordinal(booking["datum"])
        if booking["status"] == "informatie" or rng.random() < 0.1:
            return
        main, rates = self.invoice(booking, lines, customer, self._invoice_day(day - 14, day + 7))
        if main["datum"] is not None:
            self.pay(main, customer, rates)
        if rng.random() < 0.25:
            extra, extra_rates = self.invoice(
                booking, [], customer, self._invoice_day(day, day + 20)
            )
            if extra["datum"] is not None:
                self.pay(extra, customer, extra_rates)
        if main["datum"] is not None and rng.random() < 0.06:
            start = _ordinal(main["datum"]) + 1
            day = min(start + rng.randrange(30), self.today)
            credit, credit_rates = self.invoice(booking, lines, customer, day, credits=main)
            self.pay(credit, customer, credit_rates)

    def _invoice_day(self, first: int, last: int) -> int | None:
        """A date in [first, last] not after today, or None (a concept) one time in ten."""
        if self.rng.random() < 0.1:
            return None
        return min(self.rng.randrange(first, last + 1), self.today)

    def invoice(
        self,
        booking: Row,
        lines: list[Row],
        customer: Customer,
        day: int | None,
        *,
        credits: Row | None = None,
    ) -> tuple[Row, dict[int, int]]:
        """An invoice of ``booking`` billing ``lines`` (extras when empty), ``verzonden`` or,
        without a date, ``concept``; a credit note when it ``credits`` an invoice. Returns it
        and its totals per VAT rate."""
        rng = self.rng
        invoice_id = self.ids.take("facturen", rng)
        company = self._companies.get(customer[1]) or self._companies[1]
        datum = None if day is None else _date(day)
        regels = self._invoice_lines(invoice_id, lines, negate=credits is not None)
        total = sum(cents(r["totaal_inc_btw"]) for r in regels)
        termijn = company["factuur_betaaltermijn"]
        invoice = {
            "id": invoice_id,
            "klant_id": booking["klant_id"],
            "boeking_id": booking["id"],
            "context": "online_booking" if booking["online_boeking"] else "invoice",
            "status": "concept" if day is None else "verzonden",
            "factuur_nummer": None if datum is None else invoice_number(datum, invoice_id),
            "verstuur_factuur_op": datum,
            "datum": datum,
            "pdf_locatie": None if day is None else f"{invoice_id}-{rng.randrange(16**8):08x}.pdf",
            "opmerking": rng.choice(_REMARKS),
            "aantal_personen": booking["personen"],
            "betaaltermijn": termijn,
            "referentie_klant": f"PO-{rng.randrange(10**5):05d}" if rng.random() < 0.2 else None,
            "reference_external": None,
            "herinnering1": None,
            "herinnering2": None,
            "calculated_totaalbedrag_inclusief_btw": amount(total),
            "mollie_transaction_id": None,
            "crediteert_factuur_id": None if credits is None else credits["id"],
            "bedrijf_id": company["id"],
            "btw_verlegd": customer[1] == 2 and rng.random() < 0.05,
        }
        header = {
            key: invoice[key] for key in ("id", "klant_id", "datum", "status", "factuur_nummer")
        }
        header["bedrijf_id"] = company["id"]
        for regel in regels:
            regel["Factuur"] = header
        self.rows.tables["facturen"].append(invoice)
        self.rows.tables["factuurregels"].extend(regels)
        return invoice, rates_of(regels)

    def _invoice_lines(self, invoice_id: int, lines: list[Row], *, negate: bool) -> list[Row]:
        rng = self.rng
        billed: list[tuple[Row | None, int, int | None]] = []
        for line in lines:
            billed.append(
                (self._products_by_name.get(line["beschrijving"]), line["aantal"], line["id"])
            )
        if not lines:
            for _ in range(rng.randrange(1, 3)):
                product = rng.choice(self.ref.products[6:12]) if rng.random() < 0.8 else None
                billed.append((product, rng.randrange(1, 20), None))
        regels = []
        for product, aantal, line_id in billed:
            count = -aantal if negate else aantal
            price = cents(product["verkoop"]) if product else rng.randrange(100, 2500)
            rate = product["btw"] if product else 21
            discounted = rng.random() < 0.1
            factor = 0.9 if discounted else 1
            inc = round(count * price * factor)
            exc = round(inc * 100 / (100 + rate))
            regels.append(
                {
                    "id": self.ids.take("factuurregels", rng),
                    "factuur_id": invoice_id,
                    "naam": product["naam"] if product else "Diversen",
                    "kortingomschrijving": _DISCOUNT if discounted else None,
                    "aantal": count,
                    "bedrag": amount(price),
                    "btw_percentage": rate,
                    "product_id": product["id"] if product else None,
                    "boekingsregel_id": line_id,
                    "kortingsfactor": factor,
                    "totaal_inc_btw": amount(inc),
                    "totaal_exc_btw": amount(exc),
                }
            )
        return regels

    # ------------------------------------------------------------ payments

    def pay(self, invoice: Row, customer: Customer, rates: dict[int, int]) -> None:
        """0-3 payments (a credit note: none or its refund); the status follows their sum."""
        rng = self.rng
        total = cents(invoice["calculated_totaalbedrag_inclusief_btw"])
        if total < 0:
            parts = [total] if rng.random() < 0.5 else []
        else:
            count = rng.choice((0, 1, 1, 2, 3))
            paid = total if rng.random() < 0.7 else total * rng.randrange(10, 90) // 100
            parts = _split(paid, count, rng)
        for part in parts:
            self.payment(invoice, customer, part, rates)
        invoice["status"] = settled_status(total, sum(parts))
        if invoice["status"] == "betaald" and invoice["context"] == "online_booking":
            invoice["mollie_transaction_id"] = f"tr_{rng.randrange(36**10):x}"
        day = _ordinal(invoice["datum"])
        if invoice["status"] != "betaald" and day + invoice["betaaltermijn"] + 7 <= self.today:
            invoice["herinnering1"] = _date(day + invoice["betaaltermijn"] + 7)
            if day + invoice["betaaltermijn"] + 21 <= self.today:
                invoice["herinnering2"] = _date(day + invoice["betaaltermijn"] + 21)

    def payment(
        self,
        invoice: Row,
        customer: Customer,
        bedrag: int,
        rates: dict[int, int],
        day: int | None = None,
    ) -> Row:
        """A payment of ``bedrag`` cents on ``invoice`` (whose totals per VAT rate are ``rates``)
        on ``day`` or a day after the invoice date, not after today."""
        rng = self.rng
        method = rng.choice(self._methods)
        if day is None:
            start = _ordinal(invoice["datum"]) if invoice["datum"] else self.today
            day = min(start + rng.randrange(30), self.today)
        at_till = method["weergeven_in_kassa"]
        row = {
            "id": self.ids.take("betalingen", rng),
            "factuur_id": invoice["id"],
            "wanneer": _datetime(day, rng.randrange(8, 23), rng.randrange(60)),
            "bedrag": amount(bedrag),
            "opmerking": rng.choice(_REMARKS),
            "betaalmethode_id": method["id"],
            "pos_id": 1 if at_till else None,
            "location_id": 1 if at_till else None,
            "btw": vat_split(bedrag, rates),
            "klant": {"id": customer[0], "naam": customer[2]},
        }
        self.rows.tables["betalingen"].append(row)
        return row


def invoice_number(datum: str, invoice_id: int) -> str:
    """The number a sent invoice gets: its year and id (``2026000042``)."""
    return f"{datum[:4]}{invoice_id:06d}"


def rates_of(regels: list[Row]) -> dict[int, int]:
    """An invoice's total per VAT rate, in cents, from its lines."""
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


def vat_split(bedrag: int, rates: dict[int, int]) -> dict[str, dict[str, str]]:
    """A payment's ``btw`` object: the amount split over the invoice's VAT rates in proportion
    to their totals, each with the VAT it contains; the last rate takes the rounding rest."""
    total = sum(rates.values())
    split: dict[str, dict[str, str]] = {}
    rest = bedrag
    ordered = sorted(rates)
    for index, rate in enumerate(ordered):
        share = (
            rest
            if index == len(ordered) - 1
            else round(bedrag * rates[rate] / total)
            if total
            else 0
        )
        rest -= share
        split[str(rate)] = {
            "btw": amount(round(share * rate / (100 + rate))),
            "bedrag": amount(share),
        }
    return split


def _split(total: int, count: int, rng: random.Random) -> list[int]:
    """``total`` cents in ``count`` positive parts (fewer when the total is too small)."""
    count = min(count, total)
    if count <= 0:
        return []
    cuts = sorted(rng.sample(range(1, total), count - 1)) if count > 1 else []
    bounds = [0, *cuts, total]
    return [b - a for a, b in itertools.pairwise(bounds)]


def _hours(duur: str) -> int:
    """Whole hours of an ISO 8601 duration such as ``PT2H`` or ``PT30M``."""
    return int(duur[2:-1]) if duur.endswith("H") else 0


_DATE_CACHE: dict[int, str] = {}


def _date(day: int) -> str:
    text = _DATE_CACHE.get(day)
    if text is None:
        text = _DATE_CACHE[day] = datetime.date.fromordinal(day).isoformat()
    return text


def _ordinal(text: str) -> int:
    return datetime.date.fromisoformat(text).toordinal()


def _datetime(day: int, hour: int, minute: int) -> str:
    return f"{_date(day)}T{hour:02d}:{minute:02d}:00{_OFFSET}"
