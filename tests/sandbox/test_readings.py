"""recras-sandbox's readings of unconfirmed points (modes), deletion and shared persons.

Each mode (CLI flag and ``SandboxProcess`` keyword) is one plausible reading of a point
the Recras docs leave open (docs/sandbox.md, "Choices for unconfirmed points"); every
test runs the real executable, under the default reading and under the other one.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from support.sandbox import get, send

from recras_sandbox.testing import SandboxError, SandboxProcess, sandbox_command


def new_customer(naam: str, email: str) -> dict[str, Any]:
    """A valid POST body with one new main contact."""
    return {
        "naam": naam,
        "contactpersonen": [
            {"voornaam": "Test", "achternaam": "Persoon", "email1": email, "hoofdcontact": True}
        ],
    }


def dumped(sandbox: SandboxProcess, customer_id: int) -> dict[str, Any]:
    """One customer from the admin dump (with contactpersonen and extra_fields)."""
    return next(c for c in sandbox.customers() if c["id"] == customer_id)


def by_name(extra_fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(extra_fields, key=lambda field: str(field["name"]))


def list_ids(sandbox: SandboxProcess, **params: Any) -> list[int]:
    response = get(sandbox, "/api2/klanten", params=params)
    assert response.status_code == 200
    return [c["id"] for c in response.json()]


# ---------------------------------------------------------------- merge on POST


@pytest.mark.parametrize(("merge", "second_status"), [("name-email", 200), ("never", 201)])
def test_merge_reading_decides_whether_an_equal_post_merges(
    sandbox_factory: Any, merge: str, second_status: int
) -> None:
    box = sandbox_factory(customers=5, merge=merge)
    body = new_customer("Dubbelgroep", "dubbel@example.com")
    first = send(box, "POST", "/api2/klanten", body)
    second = send(box, "POST", "/api2/klanten", body)
    assert first.status_code == 201
    assert second.status_code == second_status
    same = second.json()["id"] == first.json()["id"]
    assert same == (merge == "name-email")
    assert box.stats()["customers"] == (6 if merge == "name-email" else 7)


def test_merge_never_also_creates_beside_a_seeded_customer(sandbox_factory: Any) -> None:
    box = sandbox_factory(customers=30, merge="never")
    customers = box.customers()
    seeded = next(
        c for c in customers if c["naam"] and (c["contactpersonen"][0]["email1"] or "").strip()
    )
    main = seeded["contactpersonen"][0]
    response = send(box, "POST", "/api2/klanten", new_customer(seeded["naam"], main["email1"]))
    assert response.status_code == 201
    assert response.json()["id"] == customers[-1]["id"] + 1
    assert dumped(box, seeded["id"]) == seeded


# ---------------------------------------------------------------- extra_fields on PUT

EXTRA_A = {"name": "Schoenmaat", "type": "number", "value": 42}
EXTRA_B = {"name": "Dieet", "type": "text", "value": "vegetarisch"}
EXTRA_A2 = {"name": "Schoenmaat", "type": "number", "value": 44}


@pytest.mark.parametrize(
    ("reading", "after_one", "after_empty"),
    [
        ("merge", [EXTRA_A2, EXTRA_B], [EXTRA_A2, EXTRA_B]),
        ("replace", [EXTRA_A2], []),
    ],
)
def test_put_extra_fields_reading(
    sandbox_factory: Any, reading: str, after_one: list[Any], after_empty: list[Any]
) -> None:
    box = sandbox_factory(customers=3, put_extra_fields=reading)
    created = send(
        box,
        "POST",
        "/api2/klanten",
        {**new_customer("Extra", "extra@example.com"), "extra_fields": [EXTRA_A, EXTRA_B]},
    )
    cid = created.json()["id"]
    assert by_name(dumped(box, cid)["extra_fields"]) == by_name([EXTRA_A, EXTRA_B])

    assert send(box, "PUT", f"/api2/klanten/{cid}", {"extra_fields": [EXTRA_A2]}).ok
    assert by_name(dumped(box, cid)["extra_fields"]) == by_name(after_one)
    assert send(box, "PUT", f"/api2/klanten/{cid}", {"extra_fields": []}).ok
    assert by_name(dumped(box, cid)["extra_fields"]) == by_name(after_empty)
    # A PUT without extra_fields leaves them alone under both readings.
    assert send(box, "PUT", f"/api2/klanten/{cid}", {"naam": "Extra 2"}).ok
    assert by_name(dumped(box, cid)["extra_fields"]) == by_name(after_empty)


# ---------------------------------------------------------------- id>


@pytest.mark.parametrize("reading", ["inclusive", "exclusive"])
def test_id_min_reading(sandbox_factory: Any, reading: str) -> None:
    box = sandbox_factory(customers=40, id_min=reading)
    ids = [c["id"] for c in box.customers()]
    pivot = ids[20]
    expected = [i for i in ids if (i >= pivot if reading == "inclusive" else i > pivot)]
    assert list_ids(box, **{"id>": pivot}) == expected
    assert (pivot in expected) == (reading == "inclusive")
    # A bound inside a gap of the ids means the same under both readings.
    gap = next(j for j in range(len(ids) - 1) if ids[j + 1] - ids[j] > 2)
    assert list_ids(box, **{"id>": ids[gap] + 1}) == ids[gap + 1 :]


def test_id_min_exclusive_pages_and_keeps_the_sent_bound_in_links(sandbox_factory: Any) -> None:
    box = sandbox_factory(customers=40, id_min="exclusive", page_size=7)
    ids = [c["id"] for c in box.customers()]
    pivot = ids[10]
    response = get(box, "/api2/klanten", params={"id>": pivot})
    assert response.headers["X-Total-Count"] == str(len(ids) - 11)
    assert f"id%3E={pivot}&page=2" in response.headers["Link"]
    assert [c["id"] for c in response.json()] == ids[11:18]


# ---------------------------------------------------------------- fields with a linked id


@pytest.mark.parametrize("reading", ["apply", "ignore"])
def test_linked_person_fields_reading_on_put(sandbox_factory: Any, reading: str) -> None:
    box = sandbox_factory(customers=10, linked_person_fields=reading)
    customer = box.customers()[0]
    main = customer["contactpersonen"][0]
    body = {"contactpersonen": [{"id": main["id"], "hoofdcontact": True, "telefoon1": "06-999"}]}
    assert send(box, "PUT", f"/api2/klanten/{customer['id']}", body).ok
    person = dumped(box, customer["id"])["contactpersonen"]
    assert [p["id"] for p in person] == [main["id"]]
    assert person[0]["telefoon1"] == ("06-999" if reading == "apply" else main["telefoon1"])


@pytest.mark.parametrize("reading", ["apply", "ignore"])
def test_linked_person_fields_reading_on_post(sandbox_factory: Any, reading: str) -> None:
    box = sandbox_factory(customers=10, linked_person_fields=reading)
    linked = box.customers()[1]["contactpersonen"][0]
    body = {
        "naam": "Nieuwe klant met bestaand contact",
        "contactpersonen": [{"id": linked["id"], "hoofdcontact": True, "plaats": "Goes"}],
    }
    response = send(box, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    person = dumped(box, response.json()["id"])["contactpersonen"][0]
    assert person["id"] == linked["id"]
    assert person["plaats"] == ("Goes" if reading == "apply" else linked["plaats"])


def test_linked_person_fields_ignored_are_still_validated(sandbox_factory: Any) -> None:
    box = sandbox_factory(customers=5, linked_person_fields="ignore")
    customer = box.customers()[0]
    main_id = customer["contactpersonen"][0]["id"]
    body = {"contactpersonen": [{"id": main_id, "hoofdcontact": True, "geslacht": "male"}]}
    response = send(box, "PUT", f"/api2/klanten/{customer['id']}", body)
    assert response.status_code == 406
    assert "geslacht" in response.json()["error"]["message"]


# ---------------------------------------------------------------- list items with persons


@pytest.mark.parametrize("page_size", [0, 6])
def test_list_persons_reading_lists_the_detail(sandbox_factory: Any, page_size: int) -> None:
    box = sandbox_factory(customers=20, list_persons=True, page_size=page_size)
    items = get(box, "/api2/klanten").json()
    assert len(items) == (20 if page_size == 0 else page_size)
    for item in items:
        detail = send(box, "GET", f"/api2/klanten/{item['id']}").json()
        assert item == detail
        assert item["contactpersonen"][0]["hoofdcontact"] is True


# ---------------------------------------------------------------- the CLI


def test_cli_rejects_an_unknown_reading() -> None:
    proc = subprocess.run(
        [*sandbox_command(), "--port", "0", "--merge", "sometimes"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "--merge" in proc.stderr and "name-email" in proc.stderr


# ---------------------------------------------------------------- shared persons in the seed


def test_default_seed_shares_persons_between_customers(sandbox_factory: Any) -> None:
    box = sandbox_factory()
    customers = box.customers()
    holders: dict[int, list[tuple[int, bool]]] = {}
    for customer in customers:
        for person in customer["contactpersonen"]:
            holders.setdefault(person["id"], []).append((customer["id"], person["hoofdcontact"]))
    shared = {pid: links for pid, links in holders.items() if len(links) > 1}
    # Every fifth customer with fewer than three own persons shares one: dozens of 200.
    assert len(shared) >= 20
    for links in shared.values():
        assert len(links) == 2
        assert sorted(main for _, main in links) == [False, True]
    # The stats count persons, not links.
    assert box.stats()["contact_persons"] == len(holders)


# ---------------------------------------------------------------- deleting a customer


def test_delete_customer_route(sandbox_factory: Any) -> None:
    box = sandbox_factory(customers=30)
    customers = box.customers()
    holders: dict[int, set[int]] = {}
    for customer in customers:
        for person in customer["contactpersonen"]:
            holders.setdefault(person["id"], set()).add(customer["id"])
    # A customer whose main contact is also linked to another customer.
    victim = next(c for c in customers if len(holders[c["contactpersonen"][0]["id"]]) > 1)
    shared_id = victim["contactpersonen"][0]["id"]
    (other_id,) = holders[shared_id] - {victim["id"]}
    persons_before = box.stats()["contact_persons"]

    unlinked = box.delete_customer(victim["id"])

    assert unlinked == [p["id"] for p in victim["contactpersonen"]]
    assert send(box, "GET", f"/api2/klanten/{victim['id']}").status_code == 404
    assert send(box, "PUT", f"/api2/klanten/{victim['id']}", {"naam": "x"}).status_code == 404
    assert victim["id"] not in list_ids(box)
    assert [c["id"] for c in box.customers()] == [c["id"] for c in customers if c is not victim]
    # Persons are unlinked, not deleted: the shared one stays with the other customer,
    # and every one can be linked again.
    assert shared_id in [p["id"] for p in dumped(box, other_id)["contactpersonen"]]
    assert box.stats()["contact_persons"] == persons_before
    relink = {"naam": "Opnieuw", "contactpersonen": [{"id": unlinked[-1], "hoofdcontact": True}]}
    assert send(box, "POST", "/api2/klanten", relink).status_code == 201
    with pytest.raises(SandboxError, match="404"):
        box.delete_customer(victim["id"])


def test_deleted_ids_are_never_given_out_again(sandbox_factory: Any, tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    box = sandbox_factory(customers=8, db=db)
    highest = box.customers()[-1]["id"]
    box.delete_customer(highest)
    created = send(box, "POST", "/api2/klanten", new_customer("Na verwijderen", "na@example.com"))
    assert created.json()["id"] == highest + 1
    box.delete_customer(highest + 1)
    assert box.stop() == 0

    again = sandbox_factory(customers=8, db=db)
    assert highest not in [c["id"] for c in again.customers()]
    created = send(again, "POST", "/api2/klanten", new_customer("Na herstart", "hh@example.com"))
    assert created.json()["id"] == highest + 2
    assert min(again.add_customers(1)) > highest + 2


def test_delete_route_rules(sandbox_factory: Any) -> None:
    box = sandbox_factory(customers=5)
    first = box.customers()[0]["id"]
    readonly = requests.delete(
        f"{box.base_url}/_sandbox/customers/{first}",
        headers={"Authorization": f"Bearer {box.readonly_key}"},
        timeout=30,
    )
    assert readonly.status_code == 401
    for raw in ("999999", "abc", "-1"):
        assert box.request("DELETE", f"/_sandbox/customers/{raw}")[0] == 404
    assert box.request("GET", f"/_sandbox/customers/{first}")[0] == 405
    # The API itself has no DELETE.
    assert send(box, "DELETE", f"/api2/klanten/{first}").status_code == 405
    assert box.stats()["customers"] == 5


def test_shuffled_order_follows_a_deletion(sandbox_factory: Any) -> None:
    box = sandbox_factory(customers=30, shuffle=True)
    before = list_ids(box)
    box.delete_customer(before[3])
    after = list_ids(box)
    assert sorted(after) == sorted(set(before) - {before[3]})


@pytest.mark.slow
def test_dump_while_customers_are_deleted(sandbox_factory: Any) -> None:
    """The admin dump skips a customer deleted while it is being built (no 500)."""
    box = sandbox_factory(customers=20_000)
    ids = [c["id"] for c in box.customers()]
    errors: list[BaseException] = []
    sizes: list[int] = []

    def dump_repeatedly() -> None:
        try:
            for _ in range(6):
                sizes.append(len(box.customers()))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    reader = threading.Thread(target=dump_repeatedly)
    reader.start()
    deleted = 0
    while reader.is_alive() and deleted < 400:
        box.delete_customer(ids[-1 - deleted])
        deleted += 1
    reader.join(timeout=120)
    assert not errors, errors
    assert len(sizes) == 6
    assert all(len(ids) - deleted <= size <= len(ids) for size in sizes)
