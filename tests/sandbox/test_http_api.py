"""recras-sandbox over real HTTP: auth, reads, writes, 404s, admin endpoints, CLI.

Every test talks to the real executable started by the ``sandbox`` fixtures.
Input-validation (406) cases are in test_validation.py, paging and shuffle in
test_paging.py, faults in test_faults.py, seeded data and SQLite in test_seed.py.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.sandbox import get, send

from recras_sandbox.testing import SandboxProcess, sandbox_command

DOCUMENTED_LIST_FIELDS = {
    "id",
    "type",
    "displaynaam",
    "naam",
    "adres",
    "postcode",
    "plaats",
    "provinciecode",
    "website",
    "bedrijf_id",
    "soort_klant",
    "afdeling",
    "factuur_adressering",
}
PERSON_FIELDS = {
    "id",
    "voornaam",
    "achternaam",
    "geslacht",
    "aanhef",
    "adres",
    "postcode",
    "plaats",
    "telefoon1",
    "telefoon2",
    "email1",
    "email2",
    "hoofdcontact",
}


def error_message(response: requests.Response) -> str:
    """The Recras error body's message; fails the test if the body is not that shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


def new_customer(naam: str = "Voorbeeldgroep", email: str = "test@example.com") -> dict[str, Any]:
    """A valid POST body with one new main contact."""
    return {
        "naam": naam,
        "contactpersonen": [
            {"voornaam": "Test", "achternaam": "Contactpersoon", "geslacht": "man",
             "email1": email, "hoofdcontact": True},
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def reader() -> Iterator[SandboxProcess]:
    """One default sandbox shared by the tests of this module that never write."""
    with SandboxProcess() as process:
        yield process


# ---------------------------------------------------------------- authentication


def test_bearer_key_gets_logged_in_user(reader: SandboxProcess) -> None:
    response = get(reader, "/api2/personeel/me")
    assert response.status_code == 200
    assert isinstance(response.json()["id"], int)


def test_basic_auth_with_user_and_password_accepted(reader: SandboxProcess) -> None:
    auth = (reader.username, reader.password)
    assert get(reader, "/api2/personeel/me", headers={}, auth=auth).status_code == 200
    assert get(reader, "/api2/klanten", headers={}, auth=auth).status_code == 200


@pytest.mark.parametrize(
    ("headers", "auth"),
    [
        ({}, None),
        ({"Authorization": "Bearer wrong-key"}, None),
        ({"Authorization": "Bearer "}, None),
        ({"Authorization": "Token sandbox-key"}, None),
        ({"Authorization": "Basic !!!not-base64"}, None),
        ({}, ("sandbox", "wrong-password")),
        ({}, ("someone-else", "sandbox-password")),
    ],
    ids=["none", "wrong-bearer", "empty-bearer", "other-scheme", "bad-basic", "basic-wrong-pw",
         "basic-wrong-user"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api2/personeel/me", "/api2/klanten", "/api2/klanten/17"])
def test_wrong_credentials_get_401_with_json_error(
    reader: SandboxProcess, headers: dict[str, str], auth: Any, path: str
) -> None:
    response = get(reader, path, headers=headers, auth=auth)
    assert response.status_code == 401
    assert "logged in" in error_message(response)


def test_configured_keys_and_credentials_replace_defaults(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(api_key="k-1", readonly_key="ro-1", username="u", password="p")
    assert get(sandbox, "/api2/personeel/me").status_code == 200
    default = {"Authorization": "Bearer sandbox-key"}
    assert get(sandbox, "/api2/personeel/me", headers=default).status_code == 401
    assert get(sandbox, "/api2/personeel/me", headers={}, auth=("u", "p")).status_code == 200
    readonly = {"Authorization": "Bearer ro-1"}
    assert get(sandbox, "/api2/klanten", headers=readonly).status_code == 200


def test_readonly_key_can_read(reader: SandboxProcess) -> None:
    headers = {"Authorization": f"Bearer {reader.readonly_key}"}
    for path in ("/api2/personeel/me", "/api2/klanten", "/api2/klanten/17"):
        assert get(reader, path, headers=headers).status_code == 200, path


def test_readonly_key_gets_403_naming_editcontact_on_writes(sandbox: SandboxProcess) -> None:
    before = sandbox.customers()
    post = send(sandbox, "POST", "/api2/klanten", new_customer(), key=sandbox.readonly_key)
    put = send(sandbox, "PUT", "/api2/klanten/17", {"naam": "X"}, key=sandbox.readonly_key)
    for response in (post, put):
        assert response.status_code == 403
        assert "editContact" in error_message(response)
    assert sandbox.customers() == before


# ---------------------------------------------------------------- reads


def test_list_has_every_customer_with_documented_fields_and_extras(
    reader: SandboxProcess,
) -> None:
    response = get(reader, "/api2/klanten")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    items = response.json()
    assert len(items) == 200
    assert {c["id"] for c in items} == {c["id"] for c in reader.customers()}
    extras = {"_links", "landcode", "btw_nummer", "mag_type_wijzigen"}
    for item in items:
        assert DOCUMENTED_LIST_FIELDS | extras <= set(item)
        assert item["type"] == "klant"


def test_list_items_do_not_include_contactpersonen(reader: SandboxProcess) -> None:
    items = get(reader, "/api2/klanten").json()
    assert all("contactpersonen" not in item for item in items)


def test_list_without_paging_sends_no_paging_headers(reader: SandboxProcess) -> None:
    response = get(reader, "/api2/klanten")
    assert "Link" not in response.headers
    assert "X-Total-Count" not in response.headers


def test_id_filter_is_inclusive(reader: SandboxProcess) -> None:
    ids = sorted(c["id"] for c in get(reader, "/api2/klanten").json())
    pivot = ids[57]
    # requests encodes the parameter name as id%3E.
    response = get(reader, "/api2/klanten", params={"id>": pivot})
    assert response.status_code == 200
    assert "id%3E" in response.url
    assert sorted(c["id"] for c in response.json()) == ids[57:]
    between = get(reader, "/api2/klanten", params={"id>": pivot + 1}).json()
    assert sorted(c["id"] for c in between) == [i for i in ids if i >= pivot + 1]


def test_id_filter_unencoded_name_also_works(reader: SandboxProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", reader.port, timeout=30)
    conn.request("GET", "/api2/klanten?id>=100", headers={"Authorization": "Bearer sandbox-key"})
    response = conn.getresponse()
    items = json.loads(response.read())
    conn.close()
    assert response.status == 200
    assert items and min(c["id"] for c in items) >= 100


def test_id_filter_above_max_gives_empty_list(reader: SandboxProcess) -> None:
    response = get(reader, "/api2/klanten", params={"id>": 10**9})
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("value", ["abc", "", "1.5", "12x"])
def test_id_filter_must_be_an_integer(reader: SandboxProcess, value: str) -> None:
    response = get(reader, "/api2/klanten", params={"id>": value})
    assert response.status_code == 406
    assert "id>" in error_message(response)


@pytest.mark.parametrize(
    "query", ["limit=10", "offset=0", "page=2", "foo=bar", "id=5", "id%3C=5", "per_page=10"]
)
def test_unknown_query_parameter_rejected(reader: SandboxProcess, query: str) -> None:
    response = get(reader, f"/api2/klanten?{query}")
    assert response.status_code == 406
    assert "Could not validate extra field" in error_message(response)


@pytest.mark.parametrize("path", ["/api2/klanten/17?foo=1", "/api2/personeel/me?x=1"])
def test_unknown_query_parameter_rejected_on_other_reads(reader: SandboxProcess, path: str) -> None:
    response = get(reader, path)
    assert response.status_code == 406
    assert "Could not validate extra field" in error_message(response)


def test_detail_has_contactpersonen_main_contact_first(reader: SandboxProcess) -> None:
    dump = reader.customers()
    multi = next(c for c in dump if len(c["contactpersonen"]) > 1)
    response = get(reader, f"/api2/klanten/{multi['id']}")
    assert response.status_code == 200
    detail = response.json()
    persons = detail["contactpersonen"]
    assert persons[0]["hoofdcontact"] is True
    assert all(p["hoofdcontact"] is False for p in persons[1:])
    for person in persons:
        assert set(person) >= PERSON_FIELDS
    assert set(detail) >= DOCUMENTED_LIST_FIELDS


def test_detail_equals_list_item_plus_contactpersonen(reader: SandboxProcess) -> None:
    items = {c["id"]: c for c in get(reader, "/api2/klanten").json()}
    for customer_id in list(items)[:20]:
        detail = get(reader, f"/api2/klanten/{customer_id}").json()
        detail.pop("contactpersonen")
        assert detail == items[customer_id]


def test_detail_unknown_id_404_with_json_error(reader: SandboxProcess) -> None:
    response = get(reader, "/api2/klanten/999999999")
    assert response.status_code == 404
    assert "999999999" in error_message(response)


@pytest.mark.parametrize("raw_id", ["abc", "1.5", "-1", "17a", "%2017"])
def test_detail_non_integer_id_404(reader: SandboxProcess, raw_id: str) -> None:
    response = get(reader, f"/api2/klanten/{raw_id}")
    assert response.status_code == 404
    error_message(response)


@pytest.mark.parametrize("path", ["/api2/contacten", "/api2/klanten/17/x", "/api2", "/other"])
def test_unknown_route_404_with_json_error(reader: SandboxProcess, path: str) -> None:
    response = get(reader, path)
    assert response.status_code == 404
    error_message(response)


# ---------------------------------------------------------------- POST


def test_post_creates_customer_201_with_location(sandbox: SandboxProcess) -> None:
    existing = sandbox.customers()
    linked = existing[3]["contactpersonen"][0]["id"]
    body = {
        "naam": "Voorbeeldgroep", "adres": "Teststraat 1", "postcode": "1337 XD",
        "plaats": "Teststad", "provinciecode": "NL-NH", "website": "http://www.example.com",
        "bedrijf_id": 1, "soort_klant": "Familie", "afdeling": None,
        "factuur_adressering": None,
        "contactpersonen": [
            {"id": linked, "hoofdcontact": False},
            {"voornaam": "Test", "achternaam": "Contactpersoon", "geslacht": "man",
             "aanhef": None, "adres": "Teststraat 1", "postcode": "1337 XD",
             "plaats": "Teststad", "telefoon1": "0123456789", "email1": "test@example.com",
             "hoofdcontact": True},
        ],
        "extra_fields": [{"name": "Shoe size", "type": "number", "value": 42}],
    }  # fmt: skip
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    created = response.json()
    assert response.headers["Location"] == f"/api2/klanten/{created['id']}"
    assert created["id"] > max(c["id"] for c in existing)
    assert set(created) >= DOCUMENTED_LIST_FIELDS
    assert "contactpersonen" not in created
    assert created["displaynaam"] == created["naam"] == "Voorbeeldgroep"
    assert created["type"] == "klant"
    for key in ("adres", "postcode", "plaats", "provinciecode", "website", "soort_klant"):
        assert created[key] == body[key]
    detail = get(sandbox, response.headers["Location"]).json()
    persons = detail["contactpersonen"]
    assert [p["hoofdcontact"] for p in persons] == [True, False]
    assert persons[0]["voornaam"] == "Test" and persons[0]["id"] != linked
    assert persons[1]["id"] == linked
    assert sandbox.stats()["customers"] == len(existing) + 1


def test_post_without_bedrijf_id_gets_default_company(sandbox: SandboxProcess) -> None:
    response = send(sandbox, "POST", "/api2/klanten", new_customer())
    assert response.status_code == 201
    assert response.json()["bedrijf_id"] == 1


def test_post_accepts_every_extra_field_type(sandbox: SandboxProcess) -> None:
    body = new_customer("Extra velden")
    body["extra_fields"] = [
        {"name": "Opmerking", "type": "text", "value": "Vegetarisch"},
        {"name": "Schoenmaat", "type": "number", "value": 42},
        {"name": "Geboortedatum", "type": "date", "value": "2014-01-01"},
        {"name": "Aankomst", "type": "date", "value": "2014-01-01T15:00:00+01:00"},
        {"name": "Menu", "type": "singlechoice", "value": "Vis"},
        {"name": "Allergieën", "type": "multiplechoice", "value": ["noten", "gluten"]},
    ]
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    stored = next(c for c in sandbox.customers() if c["id"] == response.json()["id"])
    assert stored["extra_fields"] == body["extra_fields"]


@pytest.mark.parametrize("gender", ["man", "vrouw", "onbekend"])
def test_post_accepts_each_documented_gender(sandbox: SandboxProcess, gender: str) -> None:
    body = new_customer(f"Geslacht {gender}")
    body["contactpersonen"][0]["geslacht"] = gender
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    detail = get(sandbox, response.headers["Location"]).json()
    assert detail["contactpersonen"][0]["geslacht"] == gender


def test_post_accepts_null_strings(sandbox: SandboxProcess) -> None:
    body = {
        "naam": "Nullen", "adres": None, "website": None, "bedrijf_id": None,
        "contactpersonen": [{"voornaam": None, "email1": "nul@example.com", "geslacht": None,
                             "hoofdcontact": True}],
    }  # fmt: skip
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    assert response.json()["adres"] is None
    assert response.json()["bedrijf_id"] == 1


def test_post_nameless_customer_displays_main_contact_name(sandbox: SandboxProcess) -> None:
    body = {"contactpersonen": [{"voornaam": "Zoë", "achternaam": "Öztürk", "hoofdcontact": True}]}
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    assert response.json()["naam"] is None
    assert response.json()["displaynaam"] == "Zoë Öztürk"


def test_post_same_name_and_main_email_merges_with_200(sandbox: SandboxProcess) -> None:
    first = send(sandbox, "POST", "/api2/klanten", new_customer("Samenvoegen BV", "a@b.nl"))
    assert first.status_code == 201
    count = sandbox.stats()["customers"]
    again = new_customer("Samenvoegen BV", "  A@B.NL ")
    again["plaats"] = "Assen"
    again["contactpersonen"][0]["telefoon1"] = "06-12345678"
    again["contactpersonen"].append({"voornaam": "Tweede", "hoofdcontact": False})
    second = send(sandbox, "POST", "/api2/klanten", again)
    assert second.status_code == 200
    assert "Location" not in second.headers
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["plaats"] == "Assen"
    assert sandbox.stats()["customers"] == count
    persons = get(sandbox, f"/api2/klanten/{first.json()['id']}").json()["contactpersonen"]
    assert [p["voornaam"] for p in persons] == ["Test", "Tweede"]
    assert persons[0]["email1"] == "a@b.nl"  # the existing address is kept
    assert persons[0]["telefoon1"] == "06-12345678"


@pytest.mark.parametrize(
    ("naam", "email"), [("Samenvoegen BV", "other@b.nl"), ("Ander BV", "a@b.nl")]
)
def test_post_differing_name_or_email_creates_new(
    sandbox: SandboxProcess, naam: str, email: str
) -> None:
    assert send(sandbox, "POST", "/api2/klanten", new_customer("Samenvoegen BV", "a@b.nl")).ok
    response = send(sandbox, "POST", "/api2/klanten", new_customer(naam, email))
    assert response.status_code == 201


def test_post_merges_into_seeded_customer(sandbox: SandboxProcess) -> None:
    target = next(c for c in sandbox.customers() if c["naam"] and c["contactpersonen"][0]["email1"])
    body = new_customer(target["naam"], target["contactpersonen"][0]["email1"].upper())
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 200
    assert response.json()["id"] == target["id"]


def test_post_query_parameter_rejected(sandbox: SandboxProcess) -> None:
    response = send(sandbox, "POST", "/api2/klanten?foo=1", new_customer())
    assert response.status_code == 406
    assert "Could not validate extra field" in error_message(response)


# ---------------------------------------------------------------- PUT


def test_put_updates_fields_and_keeps_persons_when_absent(sandbox: SandboxProcess) -> None:
    before = sandbox.customers()[5]
    response = send(
        sandbox, "PUT", f"/api2/klanten/{before['id']}", {"naam": "Nieuwe naam", "plaats": None}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == before["id"]
    assert body["naam"] == body["displaynaam"] == "Nieuwe naam"
    assert body["plaats"] is None
    assert body["adres"] == before["adres"]
    detail = get(sandbox, f"/api2/klanten/{before['id']}").json()
    assert detail["contactpersonen"] == before["contactpersonen"]


def test_put_replaces_contactpersonen_exactly(sandbox: SandboxProcess) -> None:
    before = next(c for c in sandbox.customers() if len(c["contactpersonen"]) >= 2)
    main, second = before["contactpersonen"][:2]
    body = {
        "contactpersonen": [
            {"voornaam": "Nieuw", "achternaam": "Persoon", "hoofdcontact": False},
            {"id": second["id"], "hoofdcontact": True},
        ]
    }
    response = send(sandbox, "PUT", f"/api2/klanten/{before['id']}", body)
    assert response.status_code == 200
    persons = get(sandbox, f"/api2/klanten/{before['id']}").json()["contactpersonen"]
    assert len(persons) == 2
    assert persons[0]["id"] == second["id"] and persons[0]["hoofdcontact"] is True
    assert persons[1]["voornaam"] == "Nieuw" and persons[1]["hoofdcontact"] is False
    assert persons[1]["id"] not in {p["id"] for p in before["contactpersonen"]}
    assert main["id"] not in {p["id"] for p in persons}
    # The unchanged linked person keeps its data.
    assert {k: v for k, v in persons[0].items() if k != "hoofdcontact"} == {
        k: v for k, v in second.items() if k != "hoofdcontact"
    }


def test_put_linked_person_with_fields_updates_that_person(sandbox: SandboxProcess) -> None:
    before = sandbox.customers()[0]
    main = before["contactpersonen"][0]
    body = {
        "contactpersonen": [{"id": main["id"], "telefoon1": "06-99999999", "hoofdcontact": True}]
    }
    assert send(sandbox, "PUT", f"/api2/klanten/{before['id']}", body).status_code == 200
    persons = get(sandbox, f"/api2/klanten/{before['id']}").json()["contactpersonen"]
    assert [p["id"] for p in persons] == [main["id"]]
    assert persons[0]["telefoon1"] == "06-99999999"
    assert persons[0]["voornaam"] == main["voornaam"]


def test_put_extra_fields_merge_by_name(sandbox: SandboxProcess) -> None:
    body = new_customer("Extra")
    body["extra_fields"] = [
        {"name": "A", "type": "text", "value": "1"},
        {"name": "B", "type": "number", "value": 2},
    ]
    customer_id = send(sandbox, "POST", "/api2/klanten", body).json()["id"]
    update = {"extra_fields": [{"name": "B", "type": "number", "value": 3}]}
    assert send(sandbox, "PUT", f"/api2/klanten/{customer_id}", update).status_code == 200
    stored = next(c for c in sandbox.customers() if c["id"] == customer_id)
    assert stored["extra_fields"] == [
        {"name": "A", "type": "text", "value": "1"},
        {"name": "B", "type": "number", "value": 3},
    ]


def test_put_unknown_id_404(sandbox: SandboxProcess) -> None:
    response = send(sandbox, "PUT", "/api2/klanten/999999999", {"naam": "X"})
    assert response.status_code == 404
    error_message(response)


@pytest.mark.parametrize("raw_id", ["abc", "1.5", "-3"])
def test_put_non_integer_id_404(sandbox: SandboxProcess, raw_id: str) -> None:
    response = send(sandbox, "PUT", f"/api2/klanten/{raw_id}", {"naam": "X"})
    assert response.status_code == 404
    error_message(response)


def test_post_and_put_change_the_list(sandbox: SandboxProcess) -> None:
    created = send(sandbox, "POST", "/api2/klanten", new_customer("Lijst")).json()
    send(sandbox, "PUT", "/api2/klanten/17", {"naam": "Gewijzigd"})
    items = {c["id"]: c for c in get(sandbox, "/api2/klanten").json()}
    assert items[created["id"]]["naam"] == "Lijst"
    assert items[17]["naam"] == "Gewijzigd"


# ---------------------------------------------------------------- admin endpoints


def test_stats_count_requests_by_route_and_status(sandbox: SandboxProcess) -> None:
    sandbox.reset_stats()
    get(sandbox, "/api2/klanten")
    get(sandbox, "/api2/klanten/17")
    get(sandbox, "/api2/klanten/999999")
    send(sandbox, "POST", "/api2/klanten", new_customer())
    send(sandbox, "PUT", "/api2/klanten/17", {"naam": "X"})
    get(sandbox, "/api2/personeel/me", headers={})
    stats = sandbox.stats()
    assert stats["requests"] == {
        "GET /api2/klanten": 1,
        "GET /api2/klanten/{id}": 2,
        "POST /api2/klanten": 1,
        "PUT /api2/klanten/{id}": 1,
        "GET /api2/personeel/me": 1,
    }
    assert stats["responses"] == {"200": 3, "201": 1, "404": 1, "401": 1}
    assert stats["customers"] == 201
    assert stats["contact_persons"] >= 201
    sandbox.reset_stats()
    assert sandbox.stats()["requests"] == {}


def test_add_customers_above_max_with_gaps(sandbox: SandboxProcess) -> None:
    before = max(c["id"] for c in sandbox.customers())
    ids = sandbox.add_customers(50)
    assert len(ids) == 50 == len(set(ids))
    assert min(ids) > before
    assert ids == sorted(ids) and ids[-1] - ids[0] > 49
    listed = {c["id"] for c in get(sandbox, "/api2/klanten", params={"id>": min(ids)}).json()}
    assert listed == set(ids)
    assert sandbox.stats()["customers"] == 250


def test_customers_dump_sorted_with_contactpersonen(reader: SandboxProcess) -> None:
    dump = reader.customers()
    assert [c["id"] for c in dump] == sorted(c["id"] for c in dump)
    assert all(c["contactpersonen"] and "extra_fields" in c for c in dump)


def test_admin_requires_bearer_key_and_is_not_counted(sandbox: SandboxProcess) -> None:
    sandbox.reset_stats()
    for headers in ({}, {"Authorization": f"Bearer {sandbox.readonly_key}"}):
        assert get(sandbox, "/_sandbox/stats", headers=headers).status_code == 401
    assert sandbox.stats()["requests"] == {}


def test_set_faults_reports_settings_and_rejects_bad_values(sandbox: SandboxProcess) -> None:
    settings = sandbox.set_faults(latency_ms=5, retry_after=2)
    assert settings["latency_ms"] == 5 and settings["retry_after"] == 2
    for bad in ({"fault_rate": 2}, {"nonsense": 1}, {"latency_ms": "x"}):
        status, _, _ = sandbox.request("POST", "/_sandbox/faults", bad)
        assert status == 400
    assert get(sandbox, "/api2/personeel/me").status_code == 200


# ---------------------------------------------------------------- HTTP behaviour


def test_keep_alive_serves_many_requests_on_one_connection(reader: SandboxProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", reader.port, timeout=30)
    conn.connect()
    sock = conn.sock
    headers = {"Authorization": "Bearer sandbox-key"}
    for _ in range(50):
        conn.request("GET", "/api2/klanten/17", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") != "close"
        assert int(response.getheader("Content-Length", "-1")) == len(response.read())
    assert conn.sock is sock
    conn.close()


def test_cli_prints_where_it_listens_and_its_key_writes_port_file_and_exits_0(
    tmp_path: Path,
) -> None:
    """The start message gives the settings to use, as shell variables that work as printed."""
    port_file = tmp_path / "port"
    key = "a key; with $pecial characters"
    proc = subprocess.Popen(
        [
            *sandbox_command(),
            *("--port", "0", "--port-file", str(port_file), "--customers", "5"),
            *("--api-key", key),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    # A start message short of a line would block readline: the kill ends it (EOF).
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"recras-sandbox listening on http://127\.0\.0\.1:(\d+)\n", line)
        assert match, line
        assert port_file.read_text().strip() == match.group(1)
        settings = proc.stdout.readline()
        assert settings.startswith("export "), settings
        # The shell reads the variables back as they were meant (the key quoted for it).
        shell = subprocess.run(
            ["sh", "-c", f'{settings}printf "%s\\n%s" "$RECRAS_BASE_URL" "$RECRAS_API_KEY"'],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        base_url, api_key = shell.stdout.split("\n")
        assert (base_url, api_key) == (f"http://127.0.0.1:{match.group(1)}", key)
        response = requests.get(
            f"{base_url}/api2/klanten", headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )
        assert len(response.json()) == 5
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""  # nothing after the start message
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()


def test_sigint_also_exits_cleanly(sandbox: SandboxProcess) -> None:
    os.kill(sandbox.pid, signal.SIGINT)
    assert sandbox.wait(timeout=10) == 0


def test_sigterm_via_stop_exits_0(sandbox: SandboxProcess) -> None:
    assert sandbox.stop() == 0
    assert sandbox.returncode == 0


def test_admin_calls_on_a_keep_alive_connection_are_not_counted(sandbox: SandboxProcess) -> None:
    sandbox.reset_stats()
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {sandbox.api_key}"
        assert session.get(sandbox.base_url + "/api2/klanten/17", timeout=30).status_code == 200
        for _ in range(3):
            stats = session.get(sandbox.base_url + "/_sandbox/stats", timeout=30).json()
    assert stats["responses"] == {"200": 1}
    assert stats["requests"] == {"GET /api2/klanten/{id}": 1}


def test_unlinked_person_can_be_linked_again(sandbox: SandboxProcess) -> None:
    before = next(c for c in sandbox.customers() if len(c["contactpersonen"]) >= 2)
    dropped = before["contactpersonen"][1]["id"]
    keep = {"contactpersonen": [{"id": before["contactpersonen"][0]["id"], "hoofdcontact": True}]}
    assert send(sandbox, "PUT", f"/api2/klanten/{before['id']}", keep).status_code == 200
    count = sandbox.stats()["contact_persons"]
    body = {"naam": "Hergebruik", "contactpersonen": [{"id": dropped, "hoofdcontact": True}]}
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
    persons = get(sandbox, response.headers["Location"]).json()["contactpersonen"]
    assert [p["id"] for p in persons] == [dropped]
    assert sandbox.stats()["contact_persons"] == count


def test_person_linked_to_two_customers_stays_with_both(sandbox: SandboxProcess) -> None:
    owner = sandbox.customers()[2]
    shared = owner["contactpersonen"][0]["id"]
    body = {"naam": "Gedeeld", "contactpersonen": [{"id": shared, "hoofdcontact": True}]}
    created = send(sandbox, "POST", "/api2/klanten", body)
    assert created.status_code == 201
    owner_persons = get(sandbox, f"/api2/klanten/{owner['id']}").json()["contactpersonen"]
    assert shared in {p["id"] for p in owner_persons}


def test_cli_refuses_non_loopback_host() -> None:
    result = subprocess.run(
        [*sandbox_command(), "--host", "0.0.0.0", "--customers", "1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "loopback" in result.stderr


def test_cli_fixed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [*sandbox_command(), "--port", str(port), "--customers", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"recras-sandbox listening on http://127.0.0.1:{port}\n"
        response = requests.get(
            f"http://127.0.0.1:{port}/api2/klanten",
            headers={"Authorization": "Bearer sandbox-key"},
            timeout=30,
        )
        assert len(response.json()) == 3
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_merge_follows_an_email_changed_through_another_customer(sandbox: SandboxProcess) -> None:
    dump = sandbox.customers()
    owner = next(c for c in dump if c["naam"])
    other = next(c for c in dump if c["id"] != owner["id"])
    person = owner["contactpersonen"][0]
    # The first POST builds the merge index.
    assert send(sandbox, "POST", "/api2/klanten", new_customer("Eerste")).status_code == 201
    body = {
        "contactpersonen": [
            {"id": other["contactpersonen"][0]["id"], "hoofdcontact": True},
            {"id": person["id"], "email1": "nieuw@example.nl", "hoofdcontact": False},
        ]
    }
    assert send(sandbox, "PUT", f"/api2/klanten/{other['id']}", body).status_code == 200
    response = send(
        sandbox, "POST", "/api2/klanten", new_customer(owner["naam"], "NIEUW@example.nl")
    )
    assert response.status_code == 200
    assert response.json()["id"] == owner["id"]
