"""recras-sandbox seeded data properties, seed determinism and SQLite persistence."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from support.sandbox import send

from recras_sandbox.testing import SandboxProcess

STRING_FIELDS = ("naam", "adres", "postcode", "plaats", "provinciecode", "website",
                 "soort_klant", "afdeling", "factuur_adressering")  # fmt: skip


@pytest.fixture(scope="module")
def seeded() -> Iterator[list[dict[str, Any]]]:
    """The full dump of a 400-customer sandbox (read only)."""
    with SandboxProcess(customers=400, seed=1) as process:
        yield process.customers()


def test_seed_count_is_configurable(seeded: list[dict[str, Any]]) -> None:
    assert len(seeded) == 400


def test_seeded_ids_have_gaps(seeded: list[dict[str, Any]]) -> None:
    ids = [c["id"] for c in seeded]
    assert ids != list(range(1, 401))
    assert ids[0] > 1
    assert any(b - a > 1 for a, b in pairwise(ids))


def test_seeded_strings_include_null_and_empty(seeded: list[dict[str, Any]]) -> None:
    values = [c[f] for c in seeded for f in STRING_FIELDS]
    persons = [p[f] for c in seeded for p in c["contactpersonen"]
               for f in ("telefoon1", "email1", "adres")]  # fmt: skip
    for pool in (values, persons):
        assert None in pool
        assert "" in pool


def test_seeded_names_include_non_ascii(seeded: list[dict[str, Any]]) -> None:
    names = " ".join(
        [c["displaynaam"] for c in seeded]
        + [f"{p['voornaam']} {p['achternaam']}" for c in seeded for p in c["contactpersonen"]]
    )
    for text in ("ë", "ü", "IJ", "é"):
        assert text in names, text


def test_seeded_customers_have_one_to_three_contact_persons(
    seeded: list[dict[str, Any]],
) -> None:
    counts = {len(c["contactpersonen"]) for c in seeded}
    assert counts == {1, 2, 3}
    for customer in seeded:
        flags = [p["hoofdcontact"] for p in customer["contactpersonen"]]
        assert flags == [True] + [False] * (len(flags) - 1)


def test_contact_person_ids_unique_across_customers(seeded: list[dict[str, Any]]) -> None:
    # Some persons belong to two customers (seed.SHARED_EVERY): an id is one person, listed
    # with the same data by every customer that links it; distinct persons never share one.
    persons: dict[int, dict[str, Any]] = {}
    for customer in seeded:
        for person in customer["contactpersonen"]:
            fields = {k: v for k, v in person.items() if k != "hoofdcontact"}
            assert persons.setdefault(person["id"], fields) == fields


def test_seeded_customers_carry_extra_properties(seeded: list[dict[str, Any]]) -> None:
    for customer in seeded:
        assert customer["type"] == "klant"
        assert customer["bedrijf_id"] in (1, 2)
        assert isinstance(customer["mag_type_wijzigen"], bool)
        assert customer["_links"]["self"]["href"].endswith(f"/klanten/{customer['id']}")
        assert "landcode" in customer and "btw_nummer" in customer
    assert any("nieuwsbrief_ids" in p for c in seeded for p in c["contactpersonen"])
    assert {p["geslacht"] for c in seeded for p in c["contactpersonen"]} == {
        "man",
        "vrouw",
        "onbekend",
    }


def test_nameless_seeded_customers_display_main_contact(seeded: list[dict[str, Any]]) -> None:
    nameless = [c for c in seeded if not c["naam"]]
    assert nameless
    for customer in nameless:
        main = customer["contactpersonen"][0]
        assert customer["displaynaam"] == f"{main['voornaam']} {main['achternaam']}"


def test_same_seed_same_data_other_seed_other_data(sandbox_factory: Any) -> None:
    one = sandbox_factory(customers=50, seed=5).customers()
    two = sandbox_factory(customers=50, seed=5).customers()
    three = sandbox_factory(customers=50, seed=6).customers()
    assert one == two
    assert one != three


def test_sqlite_data_survives_restart(sandbox_factory: Any, tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    first = sandbox_factory(customers=30, db=db)
    body = {"naam": "Blijvend", "contactpersonen": [{"voornaam": "Ë", "hoofdcontact": True}],
            "extra_fields": [{"name": "x", "type": "text", "value": "y"}]}  # fmt: skip
    created = send(first, "POST", "/api2/klanten", body)
    assert created.status_code == 201
    target = first.customers()[3]
    assert send(first, "PUT", f"/api2/klanten/{target['id']}", {"naam": "Aangepast"}).ok
    added = first.add_customers(5)
    before = first.customers()
    assert first.stop() == 0

    # Other seed options are ignored: the file's data wins.
    second = sandbox_factory(customers=99, seed=42, db=db)
    assert second.customers() == before
    assert second.stats()["customers"] == 36
    again = send(second, "POST", "/api2/klanten", {**body, "naam": "Nog een"})
    assert again.status_code == 201
    assert again.json()["id"] > max(added)


def test_sqlite_survives_a_kill(sandbox_factory: Any, tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    first = sandbox_factory(customers=10, db=db)
    body = {"naam": "Na crash", "contactpersonen": [{"voornaam": "A", "hoofdcontact": True}]}
    customer_id = send(first, "POST", "/api2/klanten", body).json()["id"]
    first.kill()
    second = sandbox_factory(db=db)
    names = {c["id"]: c["naam"] for c in second.customers()}
    assert names[customer_id] == "Na crash"
    assert len(names) == 11


def test_memory_storage_starts_fresh(sandbox_factory: Any) -> None:
    first = sandbox_factory(customers=10)
    body = {"naam": "Vluchtig", "contactpersonen": [{"voornaam": "A", "hoofdcontact": True}]}
    assert send(first, "POST", "/api2/klanten", body).status_code == 201
    first.stop()
    second = sandbox_factory(customers=10)
    assert "Vluchtig" not in {c["naam"] for c in second.customers()}
