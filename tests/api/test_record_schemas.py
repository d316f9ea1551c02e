"""The record schemas in recras_api.schemas that tap-recras emits."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from recras_api.schemas import CONTACTPERSOON_RECORD_SCHEMA, KLANT_SCHEMA

PERSON: dict[str, Any] = {
    "id": 15,
    "voornaam": "Janny",
    "achternaam": "",
    "email1": None,
    "hoofdcontact": True,
    "nieuwsbrief_ids": [1, 3],
}


def test_a_contact_person_record_carries_klant_id_and_positie() -> None:
    jsonschema.validate({**PERSON, "klant_id": 17, "positie": 0}, CONTACTPERSOON_RECORD_SCHEMA)


@pytest.mark.parametrize(
    "record",
    [
        {**PERSON, "positie": 0},  # no klant_id
        {**PERSON, "klant_id": 17},  # no positie
        {**PERSON, "klant_id": 17, "positie": -1},
        {**PERSON, "klant_id": "17", "positie": 0},
    ],
)
def test_incomplete_contact_person_records_are_invalid(record: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, CONTACTPERSOON_RECORD_SCHEMA)


def test_a_listed_customer_with_blank_and_extra_fields_is_valid() -> None:
    klant = {
        "id": 17,
        "naam": "",
        "adres": None,
        "bedrijf_id": None,
        "kvk_nummer": None,
        "btw_nummer": "",
        "mag_type_wijzigen": True,
        "_links": {"self": {"href": "/api2/klanten/17"}},
        "iets_nieuws": 1,
        "contactpersonen": [PERSON],
    }
    jsonschema.validate(klant, KLANT_SCHEMA)


def test_the_record_schema_extends_the_contact_person_schema_without_changing_it() -> None:
    assert "klant_id" not in KLANT_SCHEMA["properties"]["contactpersonen"]["items"]["properties"]
    assert set(CONTACTPERSOON_RECORD_SCHEMA["properties"]) >= set(
        KLANT_SCHEMA["properties"]["contactpersonen"]["items"]["properties"]
    )
