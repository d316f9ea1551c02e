"""Amounts: kept as integer cents, rendered as Recras sends them under the ``money`` reading.

Rows are stored canonically with every amount a decimal string (``"12.50"``); under
``money=numbers`` the rendered bytes carry the same digits as a JSON number (``12.50``). The
two forms convert into each other by rewriting the bytes, so a row is serialized once.
"""

from __future__ import annotations

import re

#: The money fields of the vendor notes ("Money and dates"); ``btw`` is money only inside a
#: payment's ``btw`` object (a product's ``btw`` is a VAT percentage, an integer, untouched).
MONEY_KEYS = (
    "bedrag",
    "btw",
    "verkoop",
    "inkoop",
    "prijs_pp_inc",
    "prijs_totaal_inc",
    "calculated_totaalbedrag_inclusief_btw",
    "totaal_inc_btw",
    "totaal_exc_btw",
    "price",
)
_KEYS = "|".join(MONEY_KEYS).encode()
# A quote inside a JSON string is escaped, so these patterns only ever match a key and its value.
_AS_STRING = re.compile(b'"(' + _KEYS + b')":"(-?[0-9]+\\.[0-9]{2})"')
_AS_NUMBER = re.compile(b'"(' + _KEYS + b')":(-?[0-9]+\\.[0-9]{2})(?=[,}])')


def amount(cents: int) -> str:
    """Cents as the decimal string Recras would show: ``1250`` -> ``"12.50"``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def cents(text: str) -> int:
    """The inverse of :func:`amount` (``"12.5"`` and ``"12"`` are read too)."""
    negative = text.startswith("-")
    whole, _, part = text.lstrip("-").partition(".")
    value = int(whole or "0") * 100 + int((part + "00")[:2] or "0")
    return -value if negative else value


def render(canonical: bytes, reading: str) -> bytes:
    """The bytes the API sends under ``reading`` (``strings`` or ``numbers``)."""
    if reading == "strings":
        return canonical
    return _AS_STRING.sub(b'"\\1":\\2', canonical)


def canonical(rendered: bytes, reading: str) -> bytes:
    """The inverse of :func:`render`: every amount a decimal string again."""
    if reading == "strings":
        return rendered
    return _AS_NUMBER.sub(b'"\\1":"\\2"', rendered)
