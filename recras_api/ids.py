"""What counts as an integer, and as a customer id, in Recras JSON: one check for every module.

JSON ``true`` decodes to Python's ``True``, which ``isinstance(value, int)`` accepts (``bool``
is a subclass of ``int``), so a check that forgets it takes ``true`` for the id 1.
"""

from __future__ import annotations

from typing import TypeGuard


def is_json_int(value: object) -> TypeGuard[int]:
    """True for a JSON integer: an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_klant_id(value: object) -> TypeGuard[int]:
    """True for an id a Recras customer (or contact person) can have: an integer of at least 1."""
    return is_json_int(value) and value > 0
