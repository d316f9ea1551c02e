"""JSON Schemas for Recras customers (klanten) and contact persons (contactpersonen).

One place for both directions:

* ``KLANT_SCHEMA`` and ``CONTACTPERSOON_SCHEMA`` describe what Recras *returns* (the tap's
  output). Every documented field is typed; any string may be ``null`` or ``""``; properties
  Recras adds beyond the documented ones are allowed (``additionalProperties``).
* ``KLANT_PAYLOAD_SCHEMA`` describes what ``POST``/``PUT /api2/klanten`` *accepts* (the target's
  input contract), as strictly as the documentation allows in JSON Schema draft 7. Every field
  is optional, as on ``PUT``; what only ``POST`` requires (``KLANT_CREATE_REQUIRED``) and rules
  draft 7 cannot say (exactly one main contact) are checked in code by the target.
"""

from __future__ import annotations

from typing import Any

NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
NULLABLE_INTEGER: dict[str, Any] = {"type": ["integer", "null"]}
GESLACHT_VALUES = ("man", "vrouw", "onbekend")
EXTRA_FIELD_TYPES = ("text", "number", "date", "singlechoice", "multiplechoice")

#: Customer fields that are plain strings, in the documented order.
KLANT_STRING_FIELDS = (
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
#: Contact person fields that are plain strings, in the documented order.
CONTACTPERSOON_STRING_FIELDS = (
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

CONTACTPERSOON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        **{name: NULLABLE_STRING for name in CONTACTPERSOON_STRING_FIELDS},
        "hoofdcontact": {"type": ["boolean", "null"]},
        "nieuwsbrief_ids": {"type": ["array", "null"], "items": {"type": "integer"}},
    },
    "required": ["id"],
    "additionalProperties": True,
}

#: A record of the tap's ``contactpersonen`` stream: one contact person of one customer, with
#: the customer's id and the person's place in that customer's list (0 is the main contact).
CONTACTPERSOON_RECORD_SCHEMA: dict[str, Any] = {
    **CONTACTPERSOON_SCHEMA,
    "properties": {
        **CONTACTPERSOON_SCHEMA["properties"],
        "klant_id": {"type": "integer"},
        "positie": {"type": "integer", "minimum": 0},
    },
    "required": ["id", "klant_id", "positie"],
}

KLANT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "type": NULLABLE_STRING,
        "displaynaam": NULLABLE_STRING,
        **{name: NULLABLE_STRING for name in KLANT_STRING_FIELDS},
        "bedrijf_id": NULLABLE_INTEGER,
        # Undocumented on the list page but carried by real list items.
        "landcode": NULLABLE_STRING,
        "btw_nummer": NULLABLE_STRING,
        "kvk_nummer": NULLABLE_STRING,
        "mag_type_wijzigen": {"type": ["boolean", "null"]},
        "_links": {"type": ["object", "null"], "additionalProperties": True},
        "contactpersonen": {"type": ["array", "null"], "items": CONTACTPERSOON_SCHEMA},
    },
    "required": ["id"],
    "additionalProperties": True,
}

# -- what POST/PUT accept ----------------------------------------------------------------

# Python's ``$`` also matches before a trailing newline, ECMA 262's (and fastjsonschema's) does
# not; ``(?!\n)`` makes every validator agree that "NL-NH\n" is not a province code.
_ISO_3166_2 = r"^([A-Z]{2}-[A-Z0-9]{1,3})?(?!\n)$"
_ISO_8601_DATE = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?(?!\n)$"
_POSITIVE_INTEGER: dict[str, Any] = {"type": "integer", "minimum": 1}

LINKED_CONTACTPERSOON_PAYLOAD: dict[str, Any] = {
    "type": "object",
    "properties": {"id": _POSITIVE_INTEGER, "hoofdcontact": {"type": "boolean"}},
    "required": ["id", "hoofdcontact"],
}

NEW_CONTACTPERSOON_PAYLOAD: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{name: NULLABLE_STRING for name in CONTACTPERSOON_STRING_FIELDS},
        "geslacht": {"enum": [*GESLACHT_VALUES, None]},
        "hoofdcontact": {"type": "boolean"},
    },
    "required": ["hoofdcontact"],
    "not": {"required": ["id"]},
}

#: An extra field's value by its type; never null (the docs define no null value). That a
#: ``date`` is a real calendar date (not 2024-13-45) is checked in code by the target.
_EXTRA_FIELD_VALUE_BY_TYPE: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "singlechoice": {"type": "string"},
    "number": {"type": "integer"},
    "date": {
        "type": "string",
        "pattern": _ISO_8601_DATE,
        "description": "an ISO 8601 date such as 2024-05-31",
    },
    "multiplechoice": {"type": "array", "items": {"type": "string"}},
}

EXTRA_FIELD_PAYLOAD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "type": {"enum": list(EXTRA_FIELD_TYPES)},
        "value": {},
    },
    "required": ["name", "type", "value"],
    "allOf": [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {"properties": {"value": value_schema}},
        }
        for kind, value_schema in _EXTRA_FIELD_VALUE_BY_TYPE.items()
    ],
}

KLANT_PAYLOAD_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "id": _POSITIVE_INTEGER,
        **{name: NULLABLE_STRING for name in KLANT_STRING_FIELDS},
        "provinciecode": {
            "type": ["string", "null"],
            "pattern": _ISO_3166_2,
            "description": "an ISO 3166-2 province code such as NL-NH",
        },
        "bedrijf_id": {"type": ["integer", "null"], "minimum": 1},
        "contactpersonen": {
            "type": "array",
            "minItems": 1,
            "items": {
                "if": {"required": ["id"]},
                "then": LINKED_CONTACTPERSOON_PAYLOAD,
                "else": NEW_CONTACTPERSOON_PAYLOAD,
            },
        },
        "extra_fields": {"type": ["array", "null"], "items": EXTRA_FIELD_PAYLOAD},
    },
}

#: What a POST needs beyond the schema above (a PUT may leave any field out): checked by the
#: target when it knows the record creates a customer.
KLANT_CREATE_REQUIRED = ("contactpersonen",)

#: Top-level fields the target sends; anything else in a record stays local.
KLANT_PAYLOAD_FIELDS = (*KLANT_STRING_FIELDS, "bedrijf_id", "contactpersonen", "extra_fields")
