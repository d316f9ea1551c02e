"""The sandbox's readings of the points the Recras documentation leaves open.

Where the docs are silent or say "unconfirmed", each plausible reading is a mode, chosen
per sandbox (CLI flag, ``SandboxProcess`` keyword), so a client can be tested under every
reading. The defaults are the readings listed first in docs/sandbox.md ("Choices for
unconfirmed points"); a mode is never a convenience for a client.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``name-email``: a POST with the name and main e-mail of an existing customer merges (200).
#: ``never``: every valid POST creates a customer (201).
MERGE_READINGS = ("name-email", "never")
#: ``merge``: a PUT's ``extra_fields`` are merged by name; ``replace``: they are the new list.
PUT_EXTRA_FIELDS_READINGS = ("merge", "replace")
#: ``id>=N`` keeps ids ``>= N`` (``inclusive``, "the smallest id to allow") or ``> N``.
ID_MIN_READINGS = ("inclusive", "exclusive")
#: Fields sent beside a linked contact ``id``: applied to that person, or ignored.
LINKED_PERSON_FIELDS_READINGS = ("apply", "ignore")
#: Each open point (a :class:`Readings` field) and its readings, the default first.
CHOICES: dict[str, tuple[str, ...]] = {
    "merge": MERGE_READINGS,
    "put_extra_fields": PUT_EXTRA_FIELDS_READINGS,
    "id_min": ID_MIN_READINGS,
    "linked_person_fields": LINKED_PERSON_FIELDS_READINGS,
}


@dataclass(frozen=True)
class Readings:
    """One reading of every open point; the defaults are the documented default choices."""

    merge: str = MERGE_READINGS[0]
    put_extra_fields: str = PUT_EXTRA_FIELDS_READINGS[0]
    id_min: str = ID_MIN_READINGS[0]
    linked_person_fields: str = LINKED_PERSON_FIELDS_READINGS[0]
    #: List items carry ``contactpersonen`` (as the sibling ``/api2/contacten`` does).
    list_persons: bool = False

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                msg = f"{name} must be one of {', '.join(allowed)}, got {value!r}"
                raise ValueError(msg)
