"""How a record is matched to its Recras customer: map key, identity and lane.

A record names its customer in one of three ways, tried in this order:

* by ``id`` (:func:`record_klant_id`), a Recras customer id;
* by its *source key*, the stream's key properties other than ``id``: the map key
  ``source:<name>=<value>,...`` (:func:`source_map_key`) finds the customer in the id map;
* keyless, by its *identity*, name plus main contact (:func:`customer_identity`), Recras's own
  notion of "the same customer": the map key ``natural:<identity>`` turns a replay after a
  crash into an update, and :func:`matches_identity` finds a create whose answer was lost.

:class:`~target_recras.id_map.KeyKind` is the kind of a map key (and of its id map row).
:func:`lane` decides which records are written one after another, in input order.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from target_recras.id_map import KeyKind
from target_recras.input import Problem, exact_number

#: Source key values that identify nothing (``true`` would make every record one of two
#: customers), by the name the reject reason gives them.
_UNUSABLE_KEY_KINDS: dict[type, str] = {bool: "a boolean", list: "a list", dict: "an object"}


def record_klant_id(record: Mapping[str, Any]) -> int | None:
    """The Recras customer id a (validated) record names, if any."""
    value = record.get("id")
    return None if value is None else int(value)


# -- source keys ----------------------------------------------------------------------------


def source_key_text(value: Any) -> str:
    """How a source key value is written in the id map: by its JSON value.

    ``1``, ``1.0`` and ``1e0`` are one number, so one key (``1``); ``repr`` quotes strings,
    so ``"1"`` and ``1`` (or ``"a"`` and ``'a"'``) stay distinct keys. A string is one key in
    any Unicode form (NFC) but keeps its case: a source system may have keys ``abc`` and
    ``ABC``. Numbers are exact: ``9007199254740993.0`` and ``9007199254740992`` are two keys.
    """
    if isinstance(value, str):
        value = composed(value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, Decimal):
        return _decimal_key_text(value)
    return repr(value)


def _decimal_key_text(number: Decimal) -> str:
    """The key text of a number the reader kept exact (a :class:`~decimal.Decimal`).

    An integral one is its integer. A fraction is written as a float writes it when that is
    its exact value (the text releases that read floats stored), else with every digit
    (``0.10000000000000000001``).
    """
    value = exact_number(number)
    if isinstance(value, int):
        return repr(value)
    as_float = repr(float(value))
    return as_float if Decimal(as_float) == value else str(value)


def source_key_problem(record: Mapping[str, Any], names: Sequence[str]) -> Problem | None:
    """Why the record's source key (fields ``names``) cannot find its customer, or None."""
    for name in names:
        value = record.get(name)
        if value is None:
            return Problem(
                f"the source key {name} is missing or null; without it this customer "
                "could not be found again on the next run",
                name,
            )
        kind = _UNUSABLE_KEY_KINDS.get(type(value))
        if kind is not None:
            shown = json.dumps(value) if isinstance(value, bool) else None
            return Problem(
                f"the source key {name} is {kind}"
                + (f" ({shown})" if shown else "")
                + "; a source key must be a string or a number that identifies one customer",
                name,
            )
    return None


def source_map_key(record: Mapping[str, Any], names: Sequence[str]) -> str:
    """The id map key of a record with a (usable) source key made of the fields ``names``."""
    values = ",".join(f"{name}={source_key_text(record[name])}" for name in names)
    return f"{KeyKind.SOURCE}:{values}"


def natural_map_key(identity: str) -> str:
    """The id map key of a keyless record with this :func:`customer_identity`."""
    return f"{KeyKind.NATURAL}:{identity}"


# -- identity: name plus main contact ------------------------------------------------------


def composed(text: str) -> str:
    """``text`` in one Unicode form (NFC): "e" plus a combining accent is the same as "é"."""
    return unicodedata.normalize("NFC", text)


def folded(value: Any) -> str:
    """Text as it is compared: trimmed, case-folded, in NFC ("" for anything but a string).

    Unicode's canonical caseless match: decomposed before folding, composed after it, since
    folding can undo a composition ("\u01f0", j with caron, folds to j plus a combining caron).
    """
    if not isinstance(value, str):
        return ""
    return composed(unicodedata.normalize("NFD", value.strip()).casefold())


def person_identity(person: Mapping[str, Any]) -> str | None:
    """How a contact person is recognised: by ``email1``, else by first plus last name."""
    email = folded(person.get("email1"))
    if email:
        return f"email:{email}"
    name = " ".join(
        filter(None, (folded(person.get("voornaam")), folded(person.get("achternaam"))))
    )
    return f"name:{name}" if name else None


def main_contact(persons: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The person with ``hoofdcontact`` true, else the first (Recras lists the main first)."""
    listed = list(persons)
    return next((p for p in listed if p.get("hoofdcontact")), listed[0] if listed else None)


def identity_name(naam: Any) -> str | None:
    """A customer name as identities compare it (NFC); None for "no name".

    ``naam`` is optional (private persons), and a customer created without one may come back
    with ``naam`` null or ``""``: missing, null, empty and blank are all the same no name.
    Unlike a person's names it keeps its case: Recras is reported to merge on the exact name,
    so "KLANT A" and "Klant A" are two customers.
    """
    return composed(naam) if isinstance(naam, str) and naam.strip() else None


def customer_identity(naam: Any, persons: Iterable[Mapping[str, Any]]) -> str:
    """Recras's own notion of "the same customer": name plus main contact (see docs)."""
    main = main_contact(persons) or {}
    who = f"id:{main['id']}" if "id" in main else person_identity(main)
    return json.dumps([identity_name(naam), who], ensure_ascii=False)


def matches_identity(identity: str, detail: Mapping[str, Any]) -> bool:
    """Does a customer as Recras returns it (``GET /klanten/<id>``) have this identity?"""
    persons = detail.get("contactpersonen") or []
    main = main_contact(persons)
    if main is None:
        return False
    naam, who = json.loads(identity)
    # Again for the name of an identity an older release stored (it kept "" apart from null
    # and did not normalise).
    if identity_name(naam) != identity_name(detail.get("naam")):
        return False
    if isinstance(who, str) and who.startswith("id:"):
        return who == f"id:{main.get('id')}"
    # Folded again: an identity an older release stored was not normalised.
    return who is not None and folded(who) == person_identity(main)


# -- lanes -------------------------------------------------------------------------------


def lane(map_key: str | None, klant_id: int | None) -> str:
    """Records with the same lane are written one after another, in input order.

    The id-map key (source key, or name plus main contact) comes first: a record that names
    both an ``id`` and a source key stores that pair in the id map, and a later record with
    only the source key must not race it, or it could miss the entry and create the customer
    a second time.
    """
    return map_key if map_key is not None else f"id:{klant_id}"
