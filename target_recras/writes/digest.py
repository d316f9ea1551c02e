"""The digest of what a record would write, kept in the id map to skip unchanged records.

See docs/target.md, "Unchanged records": a record with a source key whose digest is the one
stored for its customer after the last confirmed write is skipped without any request. The
stored digest also carries one for each list a ``PUT`` reads the customer for (contact
persons, extra fields: :func:`write_digest`): a changed record whose lists are those last
written and confirmed is sent without them, which leaves them as they are and saves the
``GET``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from target_recras.input import exact_number
from target_recras.writes.matching import composed, folded

#: Part of every digest: raised when what a digest covers changes, so that stored digests
#: no longer match and each record is sent once more.
DIGEST_FORMAT = 2


#: Canonical JSON: sorted keys, no spaces, non-ASCII as is, a Decimal as its exact number.
#: For the other values it writes what ``json.dumps(sort_keys=True, separators=(",", ":"),
#: ensure_ascii=False)`` wrote before (floats but in exponent form), so digests stored by
#: earlier releases still match.
_encode = msgspec.json.Encoder(order="sorted", decimal_format="number").encode
#: Separates the parts of a :func:`write_digest`.
_PARTS = "+"


#: The types a record's values mostly have, which :func:`_canonical` returns as they are.
_AS_IS = frozenset({str, int, bool, type(None)})


def _canonical(value: Any) -> Any:
    """``value`` with every number in one form.

    Integral ones as integers (``1.0`` and ``1`` are one number), the reader's other Decimals
    without trailing zeros (``1.50`` is ``1.5``). Values of the types in :data:`_AS_IS` are
    taken as they are without a call: most of a record is text (a third of the digest's time
    went to asking each string whether it was a number).
    """
    if isinstance(value, dict):
        return {
            key: item if type(item) in _AS_IS else _canonical(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [item if type(item) in _AS_IS else _canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal):
        return exact_number(value)
    return value


def payload_digest(body: Mapping[str, Any], klant_id: int | None, persons: Any = None) -> str:
    """What a record would write, as a digest: its body and the customer ``id`` it names.

    ``body`` is :func:`~target_recras.writes.payload.build_body`'s: the record after stream maps and
    flattening, only the Recras fields, integers normalised. ``persons`` are the record's
    ``contactpersonen`` as given: their fields that are not sent (beside a linked ``id``,
    outside the documented shape) count too, so that a change to one is written and warned
    about, never skipped in silence. The JSON is canonical (sorted keys, integral floats as
    integers, every digit of a number kept), so field order and number forms do not matter;
    list order does (the main contact, the contact list as sent).
    """
    return _payload_hash(_canonical(body), klant_id, persons)


def _payload_hash(canonical_body: Any, klant_id: int | None, persons: Any) -> str:
    return _hash([DIGEST_FORMAT, klant_id, canonical_body, _canonical(persons)])


def _hash(material: list[Any]) -> str:
    # 128 bits: no accidental collision in any map, and half the memory of SHA-256 per key.
    return hashlib.blake2b(_encode(material), digest_size=16).hexdigest()


def _compared(name: str, value: Any) -> Any:
    """A contact person's field as it is compared: e-mail trimmed and case-folded, text in NFC.

    The forms in which :func:`~target_recras.writes.payload.unsent_person_fields` counts a value as
    one Recras has already, so that persons equal here are also equal there.
    """
    if name == "email1" and isinstance(value, str):
        return folded(value)
    return composed(value) if isinstance(value, str) else _canonical(value)


def _compared_persons(persons: Any) -> Any:
    """The record's ``contactpersonen`` as given (every field) in their compared forms."""
    if not isinstance(persons, list):
        return _canonical(persons)
    return [
        {name: _compared(name, value) for name, value in person.items()}
        if isinstance(person, dict)
        else _canonical(person)
        for person in persons
    ]


def _list_digest(name: str, value: Any) -> str:
    return _hash([DIGEST_FORMAT, name, value])


def write_digest(body: Mapping[str, Any], klant_id: int | None, persons: Any = None) -> str:
    """What the id map keeps of a confirmed write: its :func:`payload_digest`, then one part
    per list that a ``PUT`` reads the customer for, where the record has it.

    ``contactpersonen`` (the record's, ``persons``; field order does not matter, list order
    does) and ``extra_fields`` (the body's). A record without either keeps the digest earlier
    releases stored; one with them is sent once more after the upgrade.
    """
    # The body is put in its canonical form once, for its own part and the extra fields'.
    canonical_body = _canonical(dict(body))
    parts = [_payload_hash(canonical_body, klant_id, persons)]
    if persons is not None:
        parts.append(
            f"contactpersonen:{_list_digest('contactpersonen', _compared_persons(persons))}"
        )
    if "extra_fields" in canonical_body:
        parts.append(f"extra_fields:{_list_digest('extra_fields', canonical_body['extra_fields'])}")
    return _PARTS.join(parts)


def same_lists(stored: str, digest: str) -> frozenset[str]:
    """The lists whose parts the :func:`write_digest` values ``stored`` and ``digest`` share."""

    def lists(value: str) -> dict[str, str]:
        return dict(part.split(":", 1) for part in value.split(_PARTS)[1:])

    theirs = lists(stored)
    return frozenset(name for name, part in lists(digest).items() if theirs.get(name) == part)
