"""The readings of what docs/vendor/recras-endpoints.md leaves open about bookings and
invoices (docs/sandbox.md, "Choices for unconfirmed points"): each changes exactly what it
says. Every test starts two sandboxes with the same seed, one per reading, and compares.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from support.sandbox import admin_rows, get, rows

from recras_sandbox.testing import SandboxProcess

ALL_LINES = "/api2/factuurregels?begin=2000-01-01&eind=2100-01-01"
MONEY_FIELDS = {
    "bedrag", "btw", "verkoop", "inkoop", "prijs_pp_inc", "prijs_totaal_inc",
    "calculated_totaalbedrag_inclusief_btw", "totaal_inc_btw", "totaal_exc_btw", "price",
}  # fmt: skip


def ids(sandbox: SandboxProcess, path: str) -> list[int]:
    return [item["id"] for item in rows(sandbox, path)]


def test_booking_id_filter_accepted_or_refused(sandbox_factory: Any) -> None:
    accepted = sandbox_factory()
    refused = sandbox_factory(booking_id_filter="refused")
    every = ids(accepted, "/api2/boekingen")
    bound = every[len(every) // 2]
    assert ids(accepted, f"/api2/boekingen?id%3E={bound}") == [i for i in every if i >= bound]
    response = get(refused, f"/api2/boekingen?id%3E={bound}")
    assert response.status_code == 406
    assert response.json()["error"]["message"] == "Could not validate extra field: id>"
    # Nothing else differs.
    assert rows(refused, "/api2/boekingen") == rows(accepted, "/api2/boekingen")


def test_booking_id_filter_follows_the_id_min_reading(sandbox_factory: Any) -> None:
    exclusive = sandbox_factory(id_min="exclusive")
    every = ids(exclusive, "/api2/boekingen")
    bound = every[10]
    assert ids(exclusive, f"/api2/boekingen?id%3E={bound}") == [i for i in every if i > bound]


def test_booking_lines_in_list_items_or_only_in_the_detail(sandbox_factory: Any) -> None:
    in_list = sandbox_factory()
    in_detail = sandbox_factory(booking_lines="detail")
    with_lines = rows(in_list, "/api2/boekingen")
    without = rows(in_detail, "/api2/boekingen")
    assert all(booking["boekingsregels"] for booking in with_lines)
    assert without == [
        {key: value for key, value in booking.items() if key != "boekingsregels"}
        for booking in with_lines
    ]
    for booking in with_lines[:5]:
        detail = f"/api2/boekingen/{booking['id']}"
        assert rows(in_detail, detail) == rows(in_list, detail) == booking


def test_datum_na_exclusive_or_inclusive(sandbox_factory: Any) -> None:
    exclusive = sandbox_factory()
    inclusive = sandbox_factory(datum_na="inclusive")
    invoices = admin_rows(exclusive, "facturen")
    dated = sorted(invoice["datum"] for invoice in invoices if invoice["datum"])
    day = dated[len(dated) // 2]
    on_day = [invoice["id"] for invoice in invoices if invoice["datum"] == day]
    assert on_day
    after = ids(exclusive, f"/api2/facturen?datumNa={day}")
    from_day = ids(inclusive, f"/api2/facturen?datumNa={day}")
    assert after == [i["id"] for i in invoices if i["datum"] and i["datum"] > day]
    assert sorted(set(from_day) - set(after)) == on_day
    assert set(after) <= set(from_day)
    assert get(exclusive, "/api2/facturen?datumNa=1-1-2025").status_code == 406


def test_concept_invoices_never_match_datum_na(sandbox_factory: Any) -> None:
    inclusive = sandbox_factory(datum_na="inclusive")
    listed = rows(inclusive, "/api2/facturen?datumNa=1900-01-01")
    concepts = [i for i in admin_rows(inclusive, "facturen") if i["status"] == "concept"]
    assert concepts
    assert all(invoice["datum"] is not None for invoice in listed)


def _as_decimals(value: Any, key: str = "") -> Any:
    """Amounts (strings or numbers) as Decimals; everything else as it is."""
    if isinstance(value, dict):
        return {k: _as_decimals(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_decimals(v) for v in value]
    if key in MONEY_FIELDS and isinstance(value, str | Decimal):
        return Decimal(value)
    return value


def test_money_as_numbers_or_strings_equal_as_decimals(sandbox_factory: Any) -> None:
    numbers = sandbox_factory()
    strings = sandbox_factory(money="strings")
    for path in (
        "/api2/facturen",
        ALL_LINES,
        "/api2/producten",
        "/api2/arrangementen",
        "/api2/voucher_templates",
        "/_sandbox/data/betalingen",
    ):
        as_numbers, as_strings = rows(numbers, path), rows(strings, path)
        assert as_numbers != as_strings, path
        assert _as_decimals(as_numbers) == _as_decimals(as_strings), path
    invoice = rows(numbers, "/api2/facturen")[0]["calculated_totaalbedrag_inclusief_btw"]
    assert isinstance(invoice, Decimal)
    text = rows(strings, "/api2/facturen")[0]["calculated_totaalbedrag_inclusief_btw"]
    assert isinstance(text, str) and Decimal(text) == invoice and "." in text
    # Nothing but the amounts differs: the bookings (no amounts) are equal.
    assert rows(numbers, "/api2/boekingen") == rows(strings, "/api2/boekingen")


def test_regels_eind_inclusive_or_exclusive(sandbox_factory: Any) -> None:
    inclusive = sandbox_factory()
    exclusive = sandbox_factory(regels_eind="exclusive")
    lines = rows(inclusive, ALL_LINES)
    days = sorted({line["Factuur"]["datum"] for line in lines})
    begin, end = days[len(days) // 3], days[2 * len(days) // 3]
    window = f"/api2/factuurregels?begin={begin}&eind={end}"
    with_end = ids(inclusive, window)
    without_end = ids(exclusive, window)
    assert with_end == [line["id"] for line in lines if begin <= line["Factuur"]["datum"] <= end]
    assert sorted(set(with_end) - set(without_end)) == [
        line["id"] for line in lines if line["Factuur"]["datum"] == end
    ]
    assert set(without_end) <= set(with_end)
    # A one-day window is empty when the end is exclusive.
    assert ids(exclusive, f"/api2/factuurregels?begin={end}&eind={end}") == []
    assert rows(exclusive, ALL_LINES) == lines
