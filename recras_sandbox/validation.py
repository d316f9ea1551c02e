"""The input rules of ``POST /api2/klanten`` and ``PUT /api2/klanten/<id>``.

Every rule the Recras documentation states is enforced here; a violation raises
:class:`ValidationError`, which the server answers with 406 and
``{"error": {"message": ...}}``. Messages always name the offending field.
Rules that need the data (does a linked contact person exist?) live in the store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from recras_sandbox.model import (
    COMPANY_IDS,
    CUSTOMER_INPUT_FIELDS,
    CUSTOMER_STRING_FIELDS,
    EXTRA_FIELD_TYPES,
    GENDERS,
    PERSON_INPUT_FIELDS,
    PERSON_STRING_FIELDS,
)


class ValidationError(Exception):
    """Input rejected; ``str(error)`` is the message for the 406 body."""


@dataclass
class PersonInput:
    """One item of ``contactpersonen``: a link to an existing person or a new one."""

    hoofdcontact: bool
    id: int | None = None
    #: String fields given in the item (a key absent here was not sent).
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass
class CustomerInput:
    """A validated POST/PUT body; ``None`` members were not sent."""

    #: Scalar top-level fields that were sent (strings and ``bedrijf_id``).
    fields: dict[str, Any] = field(default_factory=dict)
    persons: list[PersonInput] | None = None
    extra_fields: list[dict[str, Any]] | None = None


def extra_field_error(name: str) -> ValidationError:
    """The message Recras gives for a field it does not know."""
    return ValidationError(f"Could not validate extra field: {name}")


def _is_int(value: object) -> bool:
    # bool is a subclass of int in Python, but JSON true is not an integer.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_string(value: object, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"Field {where} must be a string or null")
    return value


def _validate_person(item: object, where: str) -> PersonInput:
    if not isinstance(item, dict):
        raise ValidationError(f"Field {where} must be an object")
    for key in item:
        if key not in PERSON_INPUT_FIELDS:
            raise extra_field_error(f"{where}.{key}")
    if "hoofdcontact" not in item:
        raise ValidationError(f"Field {where}.hoofdcontact is required")
    main = item["hoofdcontact"]
    if not isinstance(main, bool):
        raise ValidationError(f"Field {where}.hoofdcontact must be a boolean")
    person = PersonInput(hoofdcontact=main)
    if "id" in item:
        if not _is_int(item["id"]):
            raise ValidationError(f"Field {where}.id must be an integer")
        person.id = item["id"]
    for name in PERSON_STRING_FIELDS:
        if name in item:
            person.fields[name] = _check_string(item[name], f"{where}.{name}")
    gender = person.fields.get("geslacht")
    if gender is not None and gender not in GENDERS:
        raise ValidationError(
            f"Field {where}.geslacht must be one of {', '.join(GENDERS)}, got {gender!r}"
        )
    return person


def _validate_persons(value: object) -> list[PersonInput]:
    if not isinstance(value, list):
        raise ValidationError("Field contactpersonen must be an array")
    if not value:
        raise ValidationError("Field contactpersonen must contain at least one contact person")
    persons = [_validate_person(item, f"contactpersonen[{i}]") for i, item in enumerate(value)]
    mains = sum(1 for p in persons if p.hoofdcontact)
    if mains != 1:
        raise ValidationError(
            "Field contactpersonen must have exactly one contact person with "
            f"hoofdcontact true, got {mains}"
        )
    seen: set[int] = set()
    for i, person in enumerate(persons):
        if person.id is not None:
            if person.id in seen:
                raise ValidationError(
                    f"Field contactpersonen[{i}].id: contact person {person.id} is listed twice"
                )
            seen.add(person.id)
    return persons


def _is_iso_date(value: str) -> bool:
    """ISO 8601 date or date-time, e.g. ``2014-01-01`` or ``2014-01-01T15:00:00+01:00``."""
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            parse(value)
        except ValueError:
            continue
        # fromisoformat also takes compact forms like 20140101; Recras writes dashes.
        return len(value) >= 10 and value[4] == "-" and value[7] == "-"
    return False


def _validate_extra_field(item: object, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationError(f"Field {where} must be an object with name, type and value")
    for key in item:
        if key not in ("name", "type", "value"):
            raise extra_field_error(f"{where}.{key}")
    for key in ("name", "type", "value"):
        if key not in item:
            raise ValidationError(f"Field {where}.{key} is required")
    name, kind, value = item["name"], item["type"], item["value"]
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"Field {where}.name must be a non-empty string")
    if kind not in EXTRA_FIELD_TYPES:
        raise ValidationError(
            f"Field {where}.type must be one of {', '.join(EXTRA_FIELD_TYPES)}, got {kind!r}"
        )
    ok: bool
    if kind == "number":
        ok = _is_int(value)
        expected = "an integer"
    elif kind == "date":
        ok = isinstance(value, str) and _is_iso_date(value)
        expected = "an ISO 8601 date"
    elif kind == "multiplechoice":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        expected = "an array of strings"
    else:  # text, singlechoice
        ok = isinstance(value, str)
        expected = "a string"
    if not ok:
        raise ValidationError(f"Field {where}.value must be {expected} for type {kind}")
    return {"name": name, "type": kind, "value": value}


def _validate_extra_fields(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValidationError("Field extra_fields must be an array")
    return [_validate_extra_field(item, f"extra_fields[{i}]") for i, item in enumerate(value)]


def validate_customer(body: object, *, creating: bool) -> CustomerInput:
    """Check a decoded POST (``creating``) or PUT body against the documented rules."""
    if not isinstance(body, dict):
        raise ValidationError("Request body must be a JSON object")
    for key in body:
        if key not in CUSTOMER_INPUT_FIELDS:
            raise extra_field_error(key)
    result = CustomerInput()
    for name in CUSTOMER_STRING_FIELDS:
        if name in body:
            result.fields[name] = _check_string(body[name], name)
    if "bedrijf_id" in body:
        company = body["bedrijf_id"]
        if company is not None and not _is_int(company):
            raise ValidationError("Field bedrijf_id must be an integer")
        if company is not None and company not in COMPANY_IDS:
            raise ValidationError(f"Field bedrijf_id: company {company} does not exist")
        result.fields["bedrijf_id"] = company
    if "contactpersonen" in body:
        result.persons = _validate_persons(body["contactpersonen"])
    elif creating:
        raise ValidationError("Field contactpersonen is required")
    if "extra_fields" in body:
        result.extra_fields = _validate_extra_fields(body["extra_fields"])
    return result
