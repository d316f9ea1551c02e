"""Every documented POST/PUT input rule of recras-sandbox: 406 with a JSON error naming the field.

Each case is sent as POST and as PUT to one shared sandbox, and each must leave the
data unchanged (a rejected write changes nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.sandbox import send

from recras_sandbox.testing import SandboxProcess

VALID_PERSON: dict[str, Any] = {"voornaam": "Test", "achternaam": "Persoon", "hoofdcontact": True}


def body_with(**changes: Any) -> dict[str, Any]:
    """A valid body with top-level changes applied."""
    body: dict[str, Any] = {"naam": "Validatie", "contactpersonen": [dict(VALID_PERSON)]}
    body.update(changes)
    return body


def person_with(**changes: Any) -> dict[str, Any]:
    """A valid body whose only contact person has ``changes`` applied."""
    person = dict(VALID_PERSON)
    person.update(changes)
    return body_with(contactpersonen=[person])


def without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def extra(**item: Any) -> dict[str, Any]:
    """A valid body with one extra field item."""
    return body_with(extra_fields=[item])


NUMBER = {"name": "Schoenmaat", "type": "number"}
DATE = {"name": "Datum", "type": "date"}

#: (case id, JSON body, text the error message must contain)
CASES: list[tuple[str, Any, str]] = [
    ("body-array", [], "JSON object"),
    ("body-string", "naam", "JSON object"),
    ("body-null", None, "JSON object"),
    ("unknown-top-level-field", body_with(foo=1), "Could not validate extra field: foo"),
    ("read-only-field-id", body_with(id=5), "Could not validate extra field: id"),
    ("contactpersonen-empty", body_with(contactpersonen=[]), "contactpersonen"),
    ("contactpersonen-object", body_with(contactpersonen={"a": 1}), "contactpersonen must be"),
    ("contactpersonen-null", body_with(contactpersonen=None), "contactpersonen must be"),
    ("person-not-object", body_with(contactpersonen=["Jan"]), "contactpersonen[0]"),
    ("hoofdcontact-missing", body_with(contactpersonen=[without(VALID_PERSON, "hoofdcontact")]),
     "contactpersonen[0].hoofdcontact is required"),
    ("hoofdcontact-string", person_with(hoofdcontact="true"), "contactpersonen[0].hoofdcontact"),
    ("hoofdcontact-int", person_with(hoofdcontact=1), "contactpersonen[0].hoofdcontact"),
    ("hoofdcontact-null", person_with(hoofdcontact=None), "contactpersonen[0].hoofdcontact"),
    ("no-main-contact", person_with(hoofdcontact=False), "exactly one"),
    ("two-main-contacts", body_with(contactpersonen=[dict(VALID_PERSON), dict(VALID_PERSON)]),
     "exactly one"),
    ("linked-id-unknown", body_with(contactpersonen=[{"id": 999999999, "hoofdcontact": True}]),
     "contactpersonen[0].id"),
    ("linked-id-string", body_with(contactpersonen=[{"id": "5", "hoofdcontact": True}]),
     "contactpersonen[0].id"),
    ("linked-id-twice", body_with(contactpersonen=[{"id": 5, "hoofdcontact": True},
                                                   {"id": 5, "hoofdcontact": False}]),
     "contactpersonen[1].id"),
    ("geslacht-unknown", person_with(geslacht="m"), "contactpersonen[0].geslacht"),
    ("geslacht-wrong-case", person_with(geslacht="Man"), "contactpersonen[0].geslacht"),
    ("geslacht-english", person_with(geslacht="male"), "contactpersonen[0].geslacht"),
    ("geslacht-number", person_with(geslacht=1), "contactpersonen[0].geslacht"),
    ("person-unknown-field", person_with(telefoon="06"),
     "Could not validate extra field: contactpersonen[0].telefoon"),
    ("person-nieuwsbrief-ids", person_with(nieuwsbrief_ids=[1]),
     "Could not validate extra field: contactpersonen[0].nieuwsbrief_ids"),
    ("person-voornaam-number", person_with(voornaam=12), "contactpersonen[0].voornaam"),
    ("person-email-list", person_with(email1=["a@b.nl"]), "contactpersonen[0].email1"),
    ("naam-number", body_with(naam=123), "naam must be a string"),
    ("naam-list", body_with(naam=["a"]), "naam"),
    ("website-bool", body_with(website=True), "website"),
    ("postcode-object", body_with(postcode={"a": 1}), "postcode"),
    ("factuur-number", body_with(factuur_adressering=0), "factuur_adressering"),
    ("bedrijf-id-string", body_with(bedrijf_id="1"), "bedrijf_id"),
    ("bedrijf-id-float", body_with(bedrijf_id=1.5), "bedrijf_id"),
    ("bedrijf-id-bool", body_with(bedrijf_id=True), "bedrijf_id"),
    ("bedrijf-id-unknown", body_with(bedrijf_id=99), "bedrijf_id"),
    ("extra-fields-object", body_with(extra_fields={"name": "x"}), "extra_fields must be"),
    ("extra-field-not-object", body_with(extra_fields=["x"]), "extra_fields[0]"),
    ("extra-field-name-missing", extra(type="text", value="x"), "extra_fields[0].name"),
    ("extra-field-type-missing", extra(name="x", value="x"), "extra_fields[0].type"),
    ("extra-field-value-missing", extra(name="x", type="text"), "extra_fields[0].value"),
    ("extra-field-unknown-key", extra(name="x", type="text", value="x", id=1),
     "Could not validate extra field: extra_fields[0].id"),
    ("extra-field-name-empty", extra(name="", type="text", value="x"), "extra_fields[0].name"),
    ("extra-field-name-number", extra(name=5, type="text", value="x"), "extra_fields[0].name"),
    ("extra-field-type-unknown", extra(name="x", type="checkbox", value="x"),
     "extra_fields[0].type"),
    ("number-as-string", extra(**NUMBER, value="42"), "extra_fields[0].value"),
    ("number-as-float", extra(**NUMBER, value=4.2), "extra_fields[0].value"),
    ("number-as-bool", extra(**NUMBER, value=True), "extra_fields[0].value"),
    ("number-null", extra(**NUMBER, value=None), "extra_fields[0].value"),
    ("date-dutch-order", extra(**DATE, value="24-11-2026"), "extra_fields[0].value"),
    ("date-bad-month", extra(**DATE, value="2026-13-01"), "extra_fields[0].value"),
    ("date-compact", extra(**DATE, value="20261124"), "extra_fields[0].value"),
    ("date-number", extra(**DATE, value=20261124), "extra_fields[0].value"),
    ("text-number", extra(name="x", type="text", value=5), "extra_fields[0].value"),
    ("singlechoice-list", extra(name="x", type="singlechoice", value=["a"]),
     "extra_fields[0].value"),
    ("multiplechoice-string", extra(name="x", type="multiplechoice", value="a"),
     "extra_fields[0].value"),
    ("multiplechoice-numbers", extra(name="x", type="multiplechoice", value=[1, 2]),
     "extra_fields[0].value"),
]  # fmt: skip

#: Cases that only apply to POST (PUT may leave contactpersonen out).
POST_ONLY: list[tuple[str, Any, str]] = [
    ("contactpersonen-missing", {"naam": "Zonder"}, "contactpersonen is required"),
    ("body-empty-object", {}, "contactpersonen is required"),
]


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxProcess]:
    """One sandbox for all cases: none of them may change its data."""
    with SandboxProcess(customers=20) as process:
        yield process


@pytest.fixture(scope="module")
def snapshot(shared: SandboxProcess) -> list[dict[str, Any]]:
    return shared.customers()


def _send(sandbox: SandboxProcess, method: str, path: str, data: bytes) -> requests.Response:
    return requests.request(
        method,
        sandbox.base_url + path,
        data=data,
        headers={
            "Authorization": f"Bearer {sandbox.api_key}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )


def _assert_406(response: requests.Response, expected: str) -> None:
    assert response.status_code == 406, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert expected in body["error"]["message"], body


@pytest.mark.parametrize(("case", "body", "expected"), CASES + POST_ONLY, ids=lambda v: v)
def test_post_rejects_invalid_input_with_406(
    shared: SandboxProcess, snapshot: list[dict[str, Any]], case: str, body: Any, expected: str
) -> None:
    _assert_406(_send(shared, "POST", "/api2/klanten", json.dumps(body).encode()), expected)
    assert shared.customers() == snapshot


@pytest.mark.parametrize(("case", "body", "expected"), CASES, ids=lambda v: v)
def test_put_rejects_invalid_input_with_406(
    shared: SandboxProcess, snapshot: list[dict[str, Any]], case: str, body: Any, expected: str
) -> None:
    customer_id = snapshot[0]["id"]
    data = json.dumps(body).encode()
    _assert_406(_send(shared, "PUT", f"/api2/klanten/{customer_id}", data), expected)
    assert shared.customers() == snapshot


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "JSON object"),
        (b"{not json", "not valid JSON"),
        (b'{"naam": "x",}', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
    ids=["empty", "garbage", "trailing-comma", "not-utf8"],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_body_that_is_not_json_rejected_with_406(
    shared: SandboxProcess, snapshot: list[dict[str, Any]], raw: bytes, expected: str, method: str
) -> None:
    path = "/api2/klanten" if method == "POST" else f"/api2/klanten/{snapshot[0]['id']}"
    _assert_406(_send(shared, method, path, raw), expected)
    assert shared.customers() == snapshot


def test_linked_id_of_existing_person_is_accepted(sandbox: SandboxProcess) -> None:
    """Control case: the rules reject only what is wrong."""
    person_id = sandbox.customers()[0]["contactpersonen"][0]["id"]
    body = {"naam": "Gekoppeld", "contactpersonen": [{"id": person_id, "hoofdcontact": True}]}
    response = send(sandbox, "POST", "/api2/klanten", body)
    assert response.status_code == 201
