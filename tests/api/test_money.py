"""Money made exact: numbers and decimal strings become ``Decimal`` with the digits sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from recras_api.jsonstream import iter_json_array
from recras_api.money import NotMoneyError, exact_money, money_decoder

MONEY = {"type": ["number", "null"]}
PAYMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "bedrag": MONEY,
        "btw": {
            "type": ["object", "null"],
            "additionalProperties": {
                "type": ["object", "null"],
                "properties": {"btw": MONEY, "bedrag": MONEY},
            },
        },
        "regels": {
            "type": ["array", "null"],
            "items": {"type": "object", "properties": {"x": MONEY}},
        },
        "naam": {"type": ["string", "null"]},
    },
}


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        ("12.50", Decimal("12.50")),
        ("-3.00", Decimal("-3.00")),
        ("7", Decimal(7)),
        (Decimal("0.10"), Decimal("0.10")),
        (12, 12),
    ],
)
def test_numbers_and_decimal_strings_keep_their_digits(value: object, exact: object) -> None:
    result = exact_money(value, "bedrag")

    assert result == exact
    assert str(result) == str(exact)


@pytest.mark.parametrize("value", ["12,50", "NaN", "1e3", " 1.5", "", True, 1.5, [], {}])
def test_anything_else_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(NotMoneyError, match=r"field btw\.21\.bedrag is .*neither a number"):
        exact_money(value, "btw.21.bedrag")


def test_a_list_decoded_with_exact_fractions_keeps_trailing_zeros() -> None:
    body = b'[{"id": 1, "bedrag": 12.50}, {"id": 2, "bedrag": 0.1}]'

    items = list(iter_json_array([body], parse_float=Decimal))

    assert [str(item["bedrag"]) for item in items] == ["12.50", "0.1"]


def test_the_schema_says_which_fields_are_money_nested_ones_too() -> None:
    decode = money_decoder(PAYMENT_SCHEMA)
    assert decode is not None
    record = {
        "id": 3,
        "bedrag": "12.50",
        "btw": {"21": {"btw": "2.17", "bedrag": Decimal("10.33")}, "9": None},
        "regels": [{"x": "1.00"}, {"x": None}],
        "naam": "12.50",
    }

    decode(record, "")

    assert record == {
        "id": 3,
        "bedrag": Decimal("12.50"),
        "btw": {"21": {"btw": Decimal("2.17"), "bedrag": Decimal("10.33")}, "9": None},
        "regels": [{"x": Decimal("1.00")}, {"x": None}],
        "naam": "12.50",  # a string property stays a string
    }
    with pytest.raises(NotMoneyError, match=r"field regels\[1\]\.x is 'twelve'"):
        decode({"regels": [{"x": 1}, {"x": "twelve"}]}, "")


def test_a_schema_without_numbers_decodes_nothing() -> None:
    assert money_decoder({"type": "object", "properties": {"id": {"type": "integer"}}}) is None
