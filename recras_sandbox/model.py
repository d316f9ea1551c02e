"""Field lists and JSON rendering shared by the store, the seed generator and validation.

Customers are kept as their serialized list item (compact JSON bytes) because the
list endpoint is what must be fast; everything else is derived from those bytes.

The field lists restate the vendor docs (``docs/vendor/``) rather than import
``recras_api.schemas``: the sandbox is the stand-in for Recras the client is tested against,
so it shares none of its code.
"""

from __future__ import annotations

import json
from typing import Any

#: String fields of a customer that POST/PUT may set (docs/vendor/recras-klanten-endpoint.txt).
CUSTOMER_STRING_FIELDS: tuple[str, ...] = (
    "naam",
    "adres",
    "postcode",
    "plaats",
    "provinciecode",
    "website",
    "soort_klant",
    "afdeling",
    "factuur_adressering",
)

#: Every top-level field POST/PUT accepts; anything else is "Could not validate extra field".
CUSTOMER_INPUT_FIELDS: frozenset[str] = frozenset(
    (*CUSTOMER_STRING_FIELDS, "bedrijf_id", "contactpersonen", "extra_fields")
)

#: Key order of a customer list item: the documented fields, then the extra properties
#: the real list is known to carry.
CUSTOMER_KEYS: tuple[str, ...] = (
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
    "landcode",
    "btw_nummer",
    "kvk_nummer",
    "mag_type_wijzigen",
    "_links",
)

#: String fields of a contact person (all may be null).
PERSON_STRING_FIELDS: tuple[str, ...] = (
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
)

#: Fields a contact person item in POST/PUT may carry.
PERSON_INPUT_FIELDS: frozenset[str] = frozenset((*PERSON_STRING_FIELDS, "id", "hoofdcontact"))

GENDERS: tuple[str, ...] = ("man", "vrouw", "onbekend")

EXTRA_FIELD_TYPES: tuple[str, ...] = ("text", "number", "date", "singlechoice", "multiplechoice")

#: Companies (bedrijven) that exist in the sandbox; 1 is the default company.
COMPANY_IDS: frozenset[int] = frozenset({1, 2})
DEFAULT_COMPANY_ID = 1

_HOOFD_TRUE = b',"hoofdcontact":true}'
_HOOFD_FALSE = b',"hoofdcontact":false}'


def dumps(obj: Any) -> bytes:
    """Serialize compactly, non-ASCII escaped (as PHP's json_encode does by default)."""
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


def customer_links(customer_id: int) -> dict[str, Any]:
    """The ``_links`` property of a customer, HAL style."""
    return {"self": {"href": f"/api2/klanten/{customer_id}"}}


def displaynaam(naam: str | None, main_person: dict[str, Any] | None) -> str:
    """Recras shows the customer name, or for a nameless customer its main contact's name."""
    if naam:
        return naam
    if main_person is None:
        return ""
    parts = [main_person.get("voornaam") or "", main_person.get("achternaam") or ""]
    return " ".join(p for p in parts if p)


def ordered_customer(data: dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` with the keys in list-item order (unknown keys dropped)."""
    return {key: data.get(key) for key in CUSTOMER_KEYS}


def render_detail(item: bytes, persons: list[bytes]) -> bytes:
    """Splice contact persons into a list item: the detail shape, main contact first."""
    parts = [item[:-1], b',"contactpersonen":[']
    for index, person in enumerate(persons):
        if index:
            parts.append(b",")
        parts.append(person[:-1])
        parts.append(_HOOFD_TRUE if index == 0 else _HOOFD_FALSE)
    parts.append(b"]}")
    return b"".join(parts)
