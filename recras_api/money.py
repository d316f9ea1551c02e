"""Money as Recras sends it, made exact: numbers and decimal strings become ``Decimal``.

The vendor notes ("Money and dates") show money fields as JSON numbers, and leave open whether
the API may answer decimal strings (``"12.50"``). Both readings end up the same here: a
number keeps the digits Recras sent (lists and details are decoded with fractions as
``Decimal``, never a binary float), a decimal string becomes the ``Decimal`` of its text, and
either is written as a JSON number with those digits (the SDK's msgspec encoder writes a
``Decimal`` as a number). Which fields are money is read from a stream's JSON schema: every
``number`` property, nested ones included (:func:`money_decoder`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

#: A decimal string as money is written: an optional sign, digits, optional fraction.
_DECIMAL_TEXT = re.compile(r"[+-]?\d+(\.\d+)?")

#: Decodes the money in one value of a schema (``field`` names where it is, for errors).
MoneyDecoder = Callable[[Any, str], Any]


class NotMoneyError(ValueError):
    """A money field holds something that is neither a number nor a decimal string."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"field {field} is {value!r}, neither a number nor a decimal string")
        self.field = field


def exact_money(value: object, field: str) -> int | Decimal:
    """``value`` as an exact number: an integer or ``Decimal`` as it is, a decimal string parsed.

    Anything else (a float, a boolean, ``"12,50"``, ``"NaN"``, an object) is a
    :class:`NotMoneyError` naming ``field``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    raise NotMoneyError(field, value)


def money_decoder(schema: Mapping[str, Any]) -> MoneyDecoder | None:
    """A function that makes every ``number`` in a value of ``schema`` exact; None if none can be.

    It changes objects in place and returns the value. Nulls stay null; a value whose shape
    differs from the schema (a string where an object is declared) is left to the schema.
    """
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "number" in types:
        return _decode_number
    if "object" in types:
        return _object_decoder(schema)
    if "array" in types and isinstance(schema.get("items"), Mapping):
        return _array_decoder(schema["items"])
    return None


def _decode_number(value: Any, field: str) -> Any:
    return None if value is None else exact_money(value, field)


def _object_decoder(schema: Mapping[str, Any]) -> MoneyDecoder | None:
    named = {
        name: decode_property
        for name, subschema in (schema.get("properties") or {}).items()
        if (decode_property := money_decoder(subschema)) is not None
    }
    others = schema.get("additionalProperties")
    any_other = money_decoder(others) if isinstance(others, Mapping) else None
    if not named and any_other is None:
        return None

    def decode_object(value: Any, field: str) -> Any:
        if isinstance(value, dict):
            for name, item in value.items():
                decode_item = named.get(name, any_other)
                if decode_item is not None and item is not None:
                    value[name] = decode_item(item, f"{field}.{name}" if field else name)
        return value

    return decode_object


def _array_decoder(items: Mapping[str, Any]) -> MoneyDecoder | None:
    decode_item = money_decoder(items)
    if decode_item is None:
        return None

    def decode_list(value: Any, field: str) -> Any:
        if isinstance(value, list):
            value[:] = [decode_item(item, f"{field}[{i}]") for i, item in enumerate(value)]
        return value

    return decode_list
