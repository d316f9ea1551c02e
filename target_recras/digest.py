"""The digest of what a record would write, kept in the id map to skip unchanged records.

See docs/target.md, "Unchanged records": a record with a source key whose digest is the one
stored for its customer after the last confirmed write is skipped without any request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from target_recras.exact_numbers import exact_number

#: Part of every digest: raised when what a digest covers changes, so that stored digests
#: no longer match and each record is sent once more.
DIGEST_FORMAT = 2


#: Canonical JSON: sorted keys, no spaces, non-ASCII as is, a Decimal as its exact number.
#: For the other values it writes what ``json.dumps(sort_keys=True, separators=(",", ":"),
#: ensure_ascii=False)`` wrote before (floats but in exponent form), so digests stored by
#: earlier releases still match.
_encode = msgspec.json.Encoder(order="sorted", decimal_format="number").encode


def _canonical(value: Any) -> Any:
    """``value`` with every number in one form.

    Integral ones as integers (``1.0`` and ``1`` are one number), the reader's other Decimals
    without trailing zeros (``1.50`` is ``1.5``).
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal):
        return exact_number(value)
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def payload_digest(body: Mapping[str, Any], klant_id: int | None, persons: Any = None) -> str:
    """What a record would write, as a digest: its body and the customer ``id`` it names.

    ``body`` is :func:`~target_recras.payload.build_body`'s: the record after stream maps and
    flattening, only the Recras fields, integers normalised. ``persons`` are the record's
    ``contactpersonen`` as given: their fields that are not sent (beside a linked ``id``,
    outside the documented shape) count too, so that a change to one is written and warned
    about, never skipped in silence. The JSON is canonical (sorted keys, integral floats as
    integers, every digit of a number kept), so field order and number forms do not matter;
    list order does (the main contact, the contact list as sent).
    """
    material = [DIGEST_FORMAT, klant_id, _canonical(body), _canonical(persons)]
    # 128 bits: no accidental collision in any map, and half the memory of SHA-256 per key.
    return hashlib.blake2b(_encode(material), digest_size=16).hexdigest()
