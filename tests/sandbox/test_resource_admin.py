"""The ``/_sandbox`` endpoints of bookings and invoices (``SandboxProcess`` methods), and
persistence of every resource with ``--db``."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.sandbox import admin_rows, get, rows, send

from recras_sandbox.testing import SandboxError, SandboxProcess

RESOURCES = [
    "boekingen", "boekingsregels", "facturen", "factuurregels", "betalingen", "producten",
    "productgroepen", "arrangementen", "locaties", "betaalmethoden", "bedrijven",
    "contactformulieren", "voucher_templates", "diensten",
]  # fmt: skip


def test_rows_of_every_resource_are_what_the_api_renders(sandbox_factory: Any) -> None:
    sandbox: SandboxProcess = sandbox_factory(page_size=0)
    assert [b["id"] for b in sandbox.rows("boekingen")] == [
        b["id"] for b in rows(sandbox, "/api2/boekingen")
    ]
    lines = sandbox.rows("boekingsregels")
    booking = admin_rows(sandbox, "boekingen")[0]
    assert [
        {key: value for key, value in line.items() if key != "boeking_id"}
        for line in lines
        if line["boeking_id"] == booking["id"]
    ] == [{**line} for line in booking["boekingsregels"]]
    for resource in RESOURCES:
        assert sandbox.rows(resource), resource
    assert get(sandbox, "/_sandbox/data/klantjes").status_code == 404


def test_added_bookings_have_lines_of_existing_customers_above_every_id(
    sandbox_factory: Any,
) -> None:
    sandbox = sandbox_factory()
    before = sandbox.rows("boekingen")
    added = sandbox.add_bookings(5)
    assert len(added) == 5 and min(added) > max(b["id"] for b in before)
    customers = {c["id"] for c in sandbox.customers()}
    listed = {b["id"]: b for b in rows(sandbox, "/api2/boekingen")}
    for booking_id in added:
        assert listed[booking_id]["klant_id"] in customers
        assert listed[booking_id]["boekingsregels"]
    assert sandbox.stats()["boekingen"] == len(before) + 5


def test_a_deleted_booking_is_gone_and_its_id_never_given_out_again(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory()
    newest = sandbox.add_bookings(1)[0]
    line_ids = [line["id"] for line in rows(sandbox, f"/api2/boekingen/{newest}")["boekingsregels"]]
    sandbox.delete_booking(newest)
    assert get(sandbox, f"/api2/boekingen/{newest}").status_code == 404
    assert newest not in [b["id"] for b in rows(sandbox, "/api2/boekingen")]
    assert not {line["id"] for line in sandbox.rows("boekingsregels")} & set(line_ids)
    assert min(sandbox.add_bookings(1)) > newest
    with pytest.raises(SandboxError, match="404"):
        sandbox.delete_booking(newest)


def test_added_invoices_bill_a_booking_on_the_date_given(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory()
    dated = sandbox.add_invoices(3, "2025-06-30")
    concepts = sandbox.add_invoices(2, "concept")
    today = sandbox.add_invoices(1)
    invoices = {i["id"]: i for i in admin_rows(sandbox, "facturen")}
    bookings = {b["id"]: b for b in admin_rows(sandbox, "boekingen")}
    assert {invoices[i]["datum"] for i in dated} == {"2025-06-30"}
    assert {invoices[i]["status"] for i in dated} == {"verzonden"}
    assert {(invoices[i]["datum"], invoices[i]["status"]) for i in concepts} == {(None, "concept")}
    assert invoices[today[0]]["datum"] == datetime.date.today().isoformat()
    lines = rows(sandbox, "/api2/factuurregels?begin=2025-06-30&eind=2025-06-30")
    for invoice_id in dated:
        booking = bookings[invoices[invoice_id]["boeking_id"]]
        billed = [line for line in lines if line["factuur_id"] == invoice_id]
        assert [line["boekingsregel_id"] for line in billed] == [
            line["id"] for line in booking["boekingsregels"]
        ]
        total = sum(line["totaal_inc_btw"] for line in billed)
        assert total == invoices[invoice_id]["calculated_totaalbedrag_inclusief_btw"]
    assert send(sandbox, "POST", "/_sandbox/facturen?count=1&datum=30-06-2025").status_code == 400


def test_an_invoice_status_change_shows_in_the_invoice_and_its_lines(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory()
    concept = sandbox.add_invoices(1, "concept")[0]
    sandbox.set_invoice_status(concept, "verzonden")
    invoice = rows(sandbox, f"/api2/facturen/{concept}")
    assert invoice["status"] == "verzonden"
    assert invoice["datum"] == datetime.date.today().isoformat()
    lines = [
        line
        for line in rows(
            sandbox, f"/api2/factuurregels?begin={invoice['datum']}&eind={invoice['datum']}"
        )
        if line["factuur_id"] == concept
    ]
    assert lines and {line["Factuur"]["status"] for line in lines} == {"verzonden"}
    sandbox.set_invoice_status(concept, "betaald")
    assert rows(sandbox, f"/api2/facturen/{concept}")["status"] == "betaald"
    with pytest.raises(SandboxError, match="400"):
        sandbox.set_invoice_status(concept, "kwijtgescholden")
    with pytest.raises(SandboxError, match="404"):
        sandbox.set_invoice_status(99999999, "betaald")


def test_payments_decide_the_status_of_a_sent_invoice(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(money="strings")
    invoice_id = sandbox.add_invoices(1, "2025-01-15")[0]
    total = Decimal(
        rows(sandbox, f"/api2/facturen/{invoice_id}")["calculated_totaalbedrag_inclusief_btw"]
    )
    first = sandbox.add_payment(invoice_id, "1.00")
    assert rows(sandbox, f"/api2/facturen/{invoice_id}")["status"] == "deels_betaald"
    second = sandbox.add_payment(invoice_id, str(total - Decimal("1.00")))
    assert second > first
    assert rows(sandbox, f"/api2/facturen/{invoice_id}")["status"] == "betaald"
    payments = rows(sandbox, f"/api2/facturen/{invoice_id}/betalingen")
    assert [p["id"] for p in payments] == [first, second]
    assert [p["bedrag"] for p in payments] == ["1.00", str(total - Decimal("1.00"))]
    assert {p["factuur_id"] for p in payments} == {invoice_id}
    with pytest.raises(SandboxError, match="404"):
        sandbox.add_payment(99999999, "1.00")


def test_admin_routes_refuse_what_they_do_not_take(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory()
    assert send(sandbox, "POST", "/_sandbox/boekingen?count=x").status_code == 400
    assert send(sandbox, "POST", "/_sandbox/boekingen?count=1&limit=2").status_code == 406
    assert send(sandbox, "GET", "/_sandbox/boekingen").status_code == 405
    assert send(sandbox, "DELETE", "/_sandbox/boekingen/abc").status_code == 404
    assert send(sandbox, "POST", "/_sandbox/facturen/1/status", {"status": 3}).status_code == 400
    assert send(sandbox, "POST", "/_sandbox/facturen/1/betalingen", []).status_code == 400
    readonly = send(sandbox, "POST", "/_sandbox/boekingen?count=1", key=sandbox.readonly_key)
    assert readonly.status_code == 401
    assert sandbox.stats()["requests"] == {}


def test_every_resource_survives_a_restart_with_db(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    with SandboxProcess(db=db, customers=80, bookings=60) as first:
        added = first.add_bookings(2)
        first.delete_booking(added[0])
        invoice = first.add_invoices(1, "2025-03-01")[0]
        first.add_payment(invoice, "5.00")
        concept = first.add_invoices(1, "concept")[0]
        first.set_invoice_status(concept, "verzonden")
        before = {resource: admin_rows(first, resource) for resource in RESOURCES}
    # Other seed options are ignored: the file's data are loaded.
    with SandboxProcess(db=db, customers=5, bookings=7, seed=9) as second:
        after = {resource: admin_rows(second, resource) for resource in RESOURCES}
        assert after == before
        assert min(second.add_bookings(1)) > added[1]
    # Under the other money reading the same rows come back with amounts as strings.
    with SandboxProcess(db=db, money="strings") as third:
        invoices = admin_rows(third, "facturen")
        assert [Decimal(i["calculated_totaalbedrag_inclusief_btw"]) for i in invoices] == [
            i["calculated_totaalbedrag_inclusief_btw"] for i in before["facturen"]
        ]
