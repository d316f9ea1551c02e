"""recras-sandbox beyond customers: bookings, invoices, invoice lines, payments and the
reference tables, as docs/vendor/recras-endpoints.md describes them.

Each endpoint renders every documented field, refuses unknown parameters (406) and pages as
the customer list does; the seeded rows are linked as in Recras (every id a row names
resolves, totals add up, payments decide the status).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from support.sandbox import admin_rows, get, rows

from recras_sandbox.testing import SandboxProcess

_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="([a-z]+)"')
#: Every invoice line whatever its date.
ALL_LINES = "/api2/factuurregels?begin=2000-01-01&eind=2100-01-01"

#: The fields the vendor notes list per resource (nested lists inside the item).
DOCUMENTED: dict[str, set[str]] = {
    "boekingen": {
        "id", "klant_id", "datum", "status", "arrangement", "arrangement_id", "personen",
        "status_updated_at", "online_boeking", "status_vervaldatum", "bijzonderheden",
        "conceptfactuur_na_dagen", "referentie", "boekingsregels",
    },
    "facturen": {
        "id", "klant_id", "boeking_id", "context", "status", "factuur_nummer",
        "verstuur_factuur_op", "datum", "pdf_locatie", "opmerking", "aantal_personen",
        "betaaltermijn", "referentie_klant", "reference_external", "herinnering1",
        "herinnering2", "calculated_totaalbedrag_inclusief_btw", "mollie_transaction_id",
        "crediteert_factuur_id", "bedrijf_id", "btw_verlegd",
    },
    "factuurregels": {
        "id", "factuur_id", "naam", "kortingomschrijving", "aantal", "bedrag", "btw_percentage",
        "product_id", "boekingsregel_id", "kortingsfactor", "totaal_inc_btw", "totaal_exc_btw",
        "Factuur",
    },
    "betalingen": {
        "id", "factuur_id", "wanneer", "bedrag", "opmerking", "betaalmethode_id", "pos_id",
        "location_id", "btw", "klant",
    },
    "producten": {
        "id", "naam", "weergavenaam", "beschrijving_klant", "uitgebreide_omschrijving", "duur",
        "verkoop", "inkoop", "btw", "aantalbepaling", "minimum_aantal", "leverancier_id",
        "locatie_verplicht", "los_op_planning", "afbeelding_href",
    },
    "productgroepen": {"id", "naam", "slug", "ledger_number"},
    "arrangementen": {
        "id", "weergavenaam", "mag_online", "aantal_personen", "prijs_pp_inc",
        "prijs_totaal_inc", "uitgebreide_omschrijving", "maximum_aantal_personen_online",
        "ontvangstlocatie", "onlineboeking_contactformulier_id", "regels", "programma",
    },
    "locaties": {
        "id", "naam", "weergavenaam", "kleur", "adres", "postcode", "plaats", "telefoonnummer",
        "latitude", "longitude", "capaciteit", "aantal_groepen", "parent_id",
    },
    "betaalmethoden": {
        "id", "naam", "weergeven_in_kassa", "bevestiging_mailen", "type", "is_deletable",
        "ledger_number",
    },
    "bedrijven": {
        "id", "bedrijfsnaam", "weergavenaam", "btw_nummer", "email", "slogan",
        "factuur_betaaltermijn",
    },
    "contactformulieren": {"id", "naam", "Velden"},
    "voucher_templates": {
        "id", "name", "description", "product_amount", "price", "expire_days",
        "internal_reference", "contactform_id", "company_id", "products",
    },
    "diensten": {
        "id", "begin", "eind", "boeking_id", "locatie_id", "kwalificatie_id", "personeel_id",
        "status", "noot", "opmerking", "internal_reference",
    },
}  # fmt: skip
BOOKING_LINE_FIELDS = {
    "id", "locatie_id", "aantal", "begin", "eind", "minimum_aantal", "beschrijving", "opmerking",
}  # fmt: skip
REFERENCE_TABLES = [
    "producten", "productgroepen", "arrangementen", "locaties", "betaalmethoden", "bedrijven",
    "contactformulieren", "voucher_templates", "diensten",
]  # fmt: skip
#: Every list path; betalingen are listed per invoice (the one named by {factuur}).
LIST_PATHS = [
    "/api2/boekingen", "/api2/facturen", ALL_LINES, "/api2/facturen/{factuur}/betalingen",
    *(f"/api2/{name}" for name in REFERENCE_TABLES),
]  # fmt: skip


@pytest.fixture(scope="module")
def reader() -> Iterator[SandboxProcess]:
    """One default sandbox shared by the tests of this module that never write."""
    with SandboxProcess() as process:
        yield process


def paid_invoice(sandbox: SandboxProcess) -> int:
    """An invoice with at least two payments."""
    counts: dict[int, int] = {}
    for payment in admin_rows(sandbox, "betalingen"):
        counts[payment["factuur_id"]] = counts.get(payment["factuur_id"], 0) + 1
    return next(factuur for factuur, count in sorted(counts.items()) if count >= 2)


def list_path(sandbox: SandboxProcess, path: str) -> str:
    return path.format(factuur=paid_invoice(sandbox)) if "{factuur}" in path else path


def by_id(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in items}


# ---------------------------------------------------------------- fields


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_documented_field_is_rendered(reader: SandboxProcess, name: str) -> None:
    items = admin_rows(reader, name)
    assert items
    # Payments carry factuur_id in the API too; booking rows of the dump carry their lines.
    for item in items:
        assert set(item) == DOCUMENTED[name], item


def test_booking_lines_carry_their_documented_fields(reader: SandboxProcess) -> None:
    bookings = rows(reader, "/api2/boekingen")
    lines = [line for booking in bookings for line in booking["boekingsregels"]]
    assert all(1 <= len(booking["boekingsregels"]) <= 4 for booking in bookings)
    assert lines and all(set(line) == BOOKING_LINE_FIELDS for line in lines)


def test_nested_lists_stay_inside_the_item(reader: SandboxProcess) -> None:
    packages = rows(reader, "/api2/arrangementen")
    assert any(package["regels"] for package in packages)
    for package in packages:
        for regel in package["regels"]:
            assert {"id", "locatie_id", "begin", "eind", "product_id", "product"} <= set(regel)
            assert regel["product"]["id"] == regel["product_id"]
    forms = rows(reader, "/api2/contactformulieren")
    assert all(form["Velden"] for form in forms)
    assert {"id", "naam", "soort_invoer", "verplicht", "mogelijke_keuzes", "field_identifier"} == (
        set(forms[0]["Velden"][0])
    )


def test_details_equal_the_rows_and_unknown_ids_are_404(reader: SandboxProcess) -> None:
    booking = admin_rows(reader, "boekingen")[3]
    assert rows(reader, f"/api2/boekingen/{booking['id']}") == booking
    invoice = admin_rows(reader, "facturen")[3]
    assert rows(reader, f"/api2/facturen/{invoice['id']}") == invoice
    product = admin_rows(reader, "producten")[3]
    assert rows(reader, f"/api2/producten/{product['id']}") == product
    for path in (
        "/api2/boekingen/99999999",
        "/api2/boekingen/abc",
        "/api2/facturen/99999999",
        "/api2/facturen/-1",
        "/api2/facturen/99999999/betalingen",
        "/api2/producten/99999999",
    ):
        response = get(reader, path)
        assert response.status_code == 404, path
        assert "not found" in response.json()["error"]["message"]


def test_payments_of_an_invoice_without_any_are_an_empty_list(reader: SandboxProcess) -> None:
    paid = {payment["factuur_id"] for payment in admin_rows(reader, "betalingen")}
    unpaid = next(i["id"] for i in admin_rows(reader, "facturen") if i["id"] not in paid)
    assert rows(reader, f"/api2/facturen/{unpaid}/betalingen") == []


def test_the_resources_are_read_only(reader: SandboxProcess) -> None:
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = reader.request(method, "/api2/boekingen", {})
        assert (status, headers["Allow"]) == (405, "GET")


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "path",
    [
        *LIST_PATHS,
        "/api2/boekingen/{booking}",
        "/api2/facturen/{factuur}",
        "/api2/producten/1",
    ],
)
def test_unknown_query_parameters_are_406_on_every_endpoint(
    reader: SandboxProcess, path: str
) -> None:
    booking = admin_rows(reader, "boekingen")[0]["id"]
    url = list_path(reader, path).replace("{booking}", str(booking))
    for name in ("limit", "offset", "per_page", "page", "embed"):
        response = get(reader, url + ("&" if "?" in url else "?") + f"{name}=10")
        assert response.status_code == 406, (url, name)
        assert response.json()["error"]["message"] == f"Could not validate extra field: {name}"


@pytest.mark.parametrize(
    ("query", "missing"),
    [("", "begin"), ("begin=2025-01-01", "eind"), ("eind=2025-01-01", "begin")],
)
def test_invoice_lines_require_begin_and_eind(
    reader: SandboxProcess, query: str, missing: str
) -> None:
    response = get(reader, f"/api2/factuurregels?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"Field {missing} is required"


def test_invoice_line_dates_must_be_dates(reader: SandboxProcess) -> None:
    for query in ("begin=2025-13-01&eind=2025-12-31", "begin=2025-01-01&eind=31-12-2025"):
        response = get(reader, f"/api2/factuurregels?{query}")
        assert response.status_code == 400, query


def test_filters_are_equality_filters_and_comma_lists(reader: SandboxProcess) -> None:
    bookings = admin_rows(reader, "boekingen")
    invoices = admin_rows(reader, "facturen")
    klant = bookings[5]["klant_id"]
    picked = [bookings[1]["id"], bookings[7]["id"], 99999999]

    def ids(path: str) -> list[int]:
        return [item["id"] for item in rows(reader, path)]

    assert ids(f"/api2/boekingen?klant_id={klant}") == [
        b["id"] for b in bookings if b["klant_id"] == klant
    ]
    assert ids("/api2/boekingen?id=" + ",".join(map(str, picked))) == sorted(picked[:2])
    assert ids("/api2/boekingen?status=reservering,definitief") == [
        b["id"] for b in bookings if b["status"] in ("reservering", "definitief")
    ]
    assert ids("/api2/facturen?status=verzonden,deels_betaald,betaald&bedrijf_id=1") == [
        i["id"] for i in invoices if i["status"] != "concept" and i["bedrijf_id"] == 1
    ]
    booking = invoices[0]["boeking_id"]
    assert ids(f"/api2/facturen?boeking_id={booking}") == [
        i["id"] for i in invoices if i["boeking_id"] == booking
    ]
    assert ids(f"/api2/facturen?klant_id={klant}") == [
        i["id"] for i in invoices if i["klant_id"] == klant
    ]
    assert ids("/api2/producten?id=3,1") == [1, 3]
    response = get(reader, "/api2/boekingen?klant_id=abc")
    assert response.status_code == 406
    assert "klant_id" in response.json()["error"]["message"]


def test_invoice_line_filters(reader: SandboxProcess) -> None:
    lines = rows(reader, ALL_LINES)
    invoices = by_id(admin_rows(reader, "facturen"))
    bookings = by_id(admin_rows(reader, "boekingen"))

    def ids(query: str) -> list[int]:
        return [line["id"] for line in rows(reader, f"{ALL_LINES}&{query}")]

    assert ids("product_id=0") == [line["id"] for line in lines if line["product_id"] is None]
    assert ids("product_id=1,7") == [line["id"] for line in lines if line["product_id"] in (1, 7)]
    assert ids("btw_percentage=9") == [line["id"] for line in lines if line["btw_percentage"] == 9]
    assert ids("Factuur.bedrijf_id=2") == [
        line["id"] for line in lines if invoices[line["factuur_id"]]["bedrijf_id"] == 2
    ]
    assert ids("Factuur.context=online_booking") == [
        line["id"] for line in lines if invoices[line["factuur_id"]]["context"] == "online_booking"
    ]
    # By booking date: a window around one booking's date holds exactly the lines of the
    # (dated) invoices of bookings on that date.
    day = bookings[next(iter(invoices.values()))["boeking_id"]]["datum"]
    window = rows(reader, f"/api2/factuurregels?begin={day}&eind={day}&referentiedatum=booking")
    assert window
    expected = [
        line["id"]
        for line in lines
        if bookings.get(invoices[line["factuur_id"]]["boeking_id"], {}).get("datum") == day
    ]
    assert [line["id"] for line in window] == expected


# ---------------------------------------------------------------- paging


@pytest.mark.parametrize("path", LIST_PATHS)
def test_paging_walks_to_the_same_rows_as_the_unpaged_list(sandbox_factory: Any, path: str) -> None:
    unpaged = sandbox_factory(customers=60, bookings=40)
    paged = sandbox_factory(customers=60, bookings=40, page_size=3)
    url = list_path(unpaged, path)
    assert list_path(paged, path) == url
    whole = rows(unpaged, url)
    assert whole
    walked: list[dict[str, Any]] = []
    next_url: str | None = paged.base_url + url
    pages = 0
    while next_url:
        response = get(paged, next_url.removeprefix(paged.base_url))
        assert response.status_code == 200
        assert response.headers["X-Page-Size"] == "3"
        assert response.headers["X-Total-Count"] == str(len(whole))
        walked.extend(rows(paged, next_url.removeprefix(paged.base_url)))
        links = {rel: link for link, rel in _LINK_RE.findall(response.headers["Link"])}
        assert {"first", "last"} <= set(links)
        next_url = links.get("next")
        pages += 1
        assert pages <= len(whole) // 3 + 1
    assert walked == whole
    assert "Link" not in get(unpaged, url).headers


def test_paging_links_keep_the_filters_sent(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(page_size=5)
    response = get(sandbox, "/api2/facturen?status=verzonden,betaald&bedrijf_id=1")
    links = {rel: link for link, rel in _LINK_RE.findall(response.headers["Link"])}
    assert links["next"].endswith("/api2/facturen?status=verzonden%2Cbetaald&bedrijf_id=1&page=2")


# ---------------------------------------------------------------- seeded links


def test_seeded_rows_are_linked_as_in_recras(reader: SandboxProcess) -> None:
    customers = by_id(reader.customers())
    bookings = by_id(admin_rows(reader, "boekingen"))
    invoices = by_id(admin_rows(reader, "facturen"))
    lines = admin_rows(reader, "factuurregels")
    payments = admin_rows(reader, "betalingen")
    tables = {name: by_id(admin_rows(reader, name)) for name in REFERENCE_TABLES}
    booking_lines = {
        line["id"]: booking["id"]
        for booking in bookings.values()
        for line in booking["boekingsregels"]
    }
    for booking in bookings.values():
        assert booking["klant_id"] in customers
        assert all(line["locatie_id"] in tables["locaties"] for line in booking["boekingsregels"])
    for invoice in invoices.values():
        booking = bookings[invoice["boeking_id"]]
        assert invoice["klant_id"] == booking["klant_id"]
        assert invoice["bedrijf_id"] == customers[invoice["klant_id"]]["bedrijf_id"]
        assert invoice["bedrijf_id"] in tables["bedrijven"]
        assert (invoice["datum"] is None) == (invoice["status"] == "concept")
        credited = invoice["crediteert_factuur_id"]
        if credited is not None:
            assert invoices[credited]["boeking_id"] == invoice["boeking_id"]
            assert invoice["calculated_totaalbedrag_inclusief_btw"] < 0
    totals: dict[int, Decimal] = {}
    for line in lines:
        invoice = invoices[line["factuur_id"]]
        totals[invoice["id"]] = totals.get(invoice["id"], Decimal(0)) + line["totaal_inc_btw"]
        assert line["product_id"] is None or line["product_id"] in tables["producten"]
        if line["boekingsregel_id"] is not None:
            assert booking_lines[line["boekingsregel_id"]] == invoice["boeking_id"]
        header = {key: invoice[key] for key in line["Factuur"]}
        assert line["Factuur"] == header
    for invoice in invoices.values():
        assert totals[invoice["id"]] == invoice["calculated_totaalbedrag_inclusief_btw"]
    paid: dict[int, Decimal] = {}
    for payment in payments:
        invoice = invoices[payment["factuur_id"]]
        paid[invoice["id"]] = paid.get(invoice["id"], Decimal(0)) + payment["bedrag"]
        assert payment["klant"]["id"] == invoice["klant_id"]
        assert payment["betaalmethode_id"] in tables["betaalmethoden"]
        assert sum(part["bedrag"] for part in payment["btw"].values()) == payment["bedrag"]
    for invoice in invoices.values():
        if invoice["status"] == "concept":
            assert invoice["id"] not in paid
            continue
        total, sum_paid = (
            invoice["calculated_totaalbedrag_inclusief_btw"],
            paid.get(invoice["id"], 0),
        )
        expected = (
            "verzonden" if not sum_paid else "betaald" if sum_paid == total else "deels_betaald"
        )
        assert invoice["status"] == expected, invoice
    for package in tables["arrangementen"].values():
        for regel in package["regels"]:
            assert regel["product_id"] in tables["producten"]
            assert regel["locatie_id"] in tables["locaties"]
    for shift in tables["diensten"].values():
        assert shift["boeking_id"] in bookings
        assert shift["locatie_id"] in tables["locaties"]
    for template in tables["voucher_templates"].values():
        assert all(product["id"] in tables["producten"] for product in template["products"])


def test_seeded_data_cover_every_kind_over_two_years(reader: SandboxProcess) -> None:
    bookings = admin_rows(reader, "boekingen")
    invoices = admin_rows(reader, "facturen")
    assert len(bookings) == 300
    assert 1.0 <= len(invoices) / len(bookings) <= 1.4
    statuses = [invoice["status"] for invoice in invoices]
    assert 0.05 <= statuses.count("concept") / len(invoices) <= 0.15
    assert {"verzonden", "deels_betaald", "betaald"} <= set(statuses)
    assert any(invoice["crediteert_factuur_id"] for invoice in invoices)
    today = datetime.date.today()
    days = [datetime.date.fromisoformat(booking["datum"]) for booking in bookings]
    assert today - datetime.timedelta(days=730) <= min(days) and max(days) <= today
    assert max(days) - min(days) > datetime.timedelta(days=600)


def test_the_same_seed_gives_the_same_rows(sandbox_factory: Any) -> None:
    first, second = sandbox_factory(seed=5), sandbox_factory(seed=5)
    for name in ("boekingen", "facturen", "factuurregels", "betalingen", "diensten"):
        assert admin_rows(first, name) == admin_rows(second, name)
    other = sandbox_factory(seed=6)
    assert admin_rows(other, "boekingen") != admin_rows(first, "boekingen")


def test_stats_count_the_new_resources_and_routes(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory()
    invoice = admin_rows(sandbox, "facturen")[0]["id"]
    for path in ("/api2/boekingen", "/api2/boekingen/1", f"/api2/facturen/{invoice}/betalingen"):
        get(sandbox, path)
    stats = sandbox.stats()
    assert stats["boekingen"] == 300
    assert stats["facturen"] == len(admin_rows(sandbox, "facturen"))
    assert stats["requests"] == {
        "GET /api2/boekingen": 1,
        "GET /api2/boekingen/{id}": 1,
        "GET /api2/facturen/{id}/betalingen": 1,
    }
