"""Turning a validated record into the body Recras accepts, contact persons included.

Only fields of the documented Recras shape are sent: anything else a record carries (source
keys, ``_sdc_*`` columns, fields of other systems) stays local. Integers that arrive as
``1.0`` (valid JSON Schema integers; the reader's exact Decimal) are sent as ``1``, exactly:
``12345678901234567890.0`` is sent as that integer, never as a float that lost digits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from recras_api.ids import is_json_int
from recras_api.schemas import (
    CONTACTPERSOON_STRING_FIELDS,
    KLANT_PAYLOAD_FIELDS,
    KLANT_STRING_FIELDS,
)
from target_recras.writes.matching import composed, folded, person_identity

#: Top-level scalar fields sent as they are (after validation).
_SCALAR_FIELDS = (*KLANT_STRING_FIELDS, "bedrijf_id")
_PERSON_FIELDS = (*CONTACTPERSOON_STRING_FIELDS, "hoofdcontact")
_LINK_FIELDS = frozenset({"id", "hoofdcontact"})
#: Fields a record may carry that belong to the target, not to the body.
RESERVED_FIELDS = frozenset({"id", *KLANT_PAYLOAD_FIELDS})


def _integer(value: Any) -> Any:
    """``1.0`` -> ``1``: JSON Schema counts it as an integer, Recras may not."""
    return int(value) if isinstance(value, float | Decimal) else value


def _person(person: Mapping[str, Any]) -> dict[str, Any]:
    if "id" in person:
        # A linked person is exactly {"id", "hoofdcontact"}, as the documentation defines
        # it; changing an existing person's fields through /klanten is not documented.
        return {"id": _integer(person["id"]), "hoofdcontact": person["hoofdcontact"]}
    return {name: person[name] for name in _PERSON_FIELDS if name in person}


def _extra_field(field: Mapping[str, Any]) -> dict[str, Any]:
    value = _integer(field["value"]) if field["type"] == "number" else field["value"]
    return {"name": field["name"], "type": field["type"], "value": value}


def build_body(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST``/``PUT`` body for a validated record: only the fields the record has.

    A field the record leaves out is left out of the body, so a ``PUT`` leaves it alone.
    """
    body = {name: record[name] for name in _SCALAR_FIELDS if name in record}
    if "bedrijf_id" in body:
        body["bedrijf_id"] = _integer(body["bedrijf_id"])
    if "contactpersonen" in record:
        body["contactpersonen"] = [_person(person) for person in record["contactpersonen"]]
    # null means "not given": Recras expects an array whenever the field is present.
    if record.get("extra_fields") is not None:
        body["extra_fields"] = [_extra_field(field) for field in record["extra_fields"]]
    return body


def merge_extra_fields(
    current: Iterable[Any], changes: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The extra fields Recras has (``current``) with ``changes`` set by name.

    Current items without a name, type and value cannot be sent back and are left out.
    """
    merged: dict[str, dict[str, Any]] = {}
    for field in current:
        if isinstance(field, dict) and {"name", "type", "value"} <= field.keys():
            merged[field["name"]] = {key: field[key] for key in ("name", "type", "value")}
    merged.update((field["name"], dict(field)) for field in changes)
    return list(merged.values())


#: A contact person whose fields are not all sent: its id (None for a new person) and the
#: names of the fields that are not sent.
UnsentFields = tuple[int | None, list[str]]


def carries_person_changes(persons: Iterable[Mapping[str, Any]]) -> bool:
    """Does a linked person (one with ``id``) carry fields besides ``id`` and ``hoofdcontact``?"""
    return any("id" in person and person.keys() - _LINK_FIELDS for person in persons)


def unsent_person_fields(
    record_persons: Iterable[Mapping[str, Any]],
    sent_persons: Iterable[Mapping[str, Any]],
    existing: Iterable[Mapping[str, Any]] | None,
) -> list[UnsentFields]:
    """The record's contact person fields the body does not carry, person by person.

    A linked person is sent as ``{"id", "hoofdcontact"}``: any other field of it is not sent,
    unless ``existing`` (the customer's persons, when read) shows Recras has that value
    already. A new person's fields outside the documented shape are never sent.
    """
    current = {person.get("id"): person for person in existing or ()}
    unsent = []
    for person, sent in zip(record_persons, sent_persons, strict=True):
        known = current.get(sent.get("id"), {})
        names = [
            name
            for name, value in person.items()
            if name not in sent and not (name in known and _same(name, value, known[name]))
        ]
        if names:
            unsent.append((sent.get("id"), names))
    return unsent


def _same(name: str, value: Any, stored: Any) -> bool:
    if value == stored:
        return True
    # E-mail addresses are matched trimmed and case-insensitively, so they compare that way.
    if name == "email1":
        return folded(value) == folded(stored) != ""
    # Text in another Unicode form is the same text: Recras has that value.
    both_text = isinstance(value, str) and isinstance(stored, str)
    return both_text and composed(value) == composed(stored)


def link_existing_persons(
    persons: list[dict[str, Any]], existing: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Replace new persons that already exist on the customer by links to them.

    ``PUT`` replaces the contact list, so a person sent without ``id`` would become a second
    copy of someone already there. Each existing person is linked at most once.
    """
    by_identity: dict[str, int] = {}
    for person in existing:
        identity = person_identity(person)
        if identity and is_json_int(person.get("id")):
            by_identity.setdefault(identity, person["id"])
    taken = {p["id"] for p in persons if "id" in p}
    linked = []
    for person in persons:
        identity = None if "id" in person else person_identity(person)
        found = by_identity.get(identity) if identity else None
        if found is not None and found not in taken:
            taken.add(found)
            linked.append({"id": found, "hoofdcontact": person["hoofdcontact"]})
        else:
            linked.append(person)
    return linked
