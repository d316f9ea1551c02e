"""The reader's exact numbers compared by their value.

A JSON number with a fraction or exponent arrives as a :class:`~decimal.Decimal`
(target_recras/input/reader.py keeps it exact). Draft 7 calls ``1.0`` an integer, and ``7.0`` and
``7`` are one source key and one digest: these helpers say whether a Decimal is whole and
give each value one form, exactly at any exponent or number of digits.
"""

from __future__ import annotations

from decimal import Decimal


def is_integral(number: Decimal) -> bool:
    """Is a (finite) Decimal a whole number? Exact at any exponent (``number % 1`` is not)."""
    return number == number.to_integral_value()


def exact_number(number: Decimal) -> int | Decimal:
    """A Decimal's value in one form: an integral one as ``int``, else without trailing zeros.

    ``Decimal.normalize`` would round to the context's 28 digits; this never rounds.
    """
    if is_integral(number):
        return int(number)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a finite number: JSON has no NaN nor Infinity
    while digits[-1] == 0:  # a fraction has a digit other than 0
        digits, exponent = digits[:-1], exponent + 1
    return Decimal((sign, digits, exponent))
