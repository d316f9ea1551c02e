"""What the tap checks in Recras's answers before a customer or contact person goes out.

Customer ids must be integers from 1 to :data:`~tap_recras.inputs.MAX_ID` (a bookmark past a
bad one would be refused by the next run), and contact persons a list of objects; anything
else stops the run with an error naming the request and the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recras_api.errors import RecrasInvalidResponseError
from tap_recras.inputs import MAX_ID


def checked_persons(persons: object, source: str) -> list[dict[str, Any]]:
    """``persons`` if it is a list of objects; else an error naming ``source`` and the item."""
    if not isinstance(persons, list):
        problem = f"got {type(persons).__name__}"
    else:
        bad = next((i for i, person in enumerate(persons) if not isinstance(person, dict)), None)
        if bad is None:
            return persons
        problem = f"item {bad} is {type(persons[bad]).__name__}"
    msg = f"{source}: contactpersonen is not a list of objects ({problem})"
    raise RecrasInvalidResponseError(msg)


def new_customers(
    batches: Iterator[list[dict[str, Any]]], min_id: int | None, seen: set[int]
) -> Iterator[list[dict[str, Any]]]:
    """Check every customer's id (1 to :data:`MAX_ID`); keep new ones from ``min_id`` on.

    Recras applies ``id>`` itself, which under its inclusive reading also sends the id just
    below ``min_id``; filtering drops that one, and keeps the no-duplicates promise on
    instances that ignore the parameter. A customer listed twice (a page that shifted, or a
    list that repeats an item) is kept the first time only: ``seen`` holds the ids handed on
    in this run, and gains each new one. Customers come and go in the batches they were
    decoded in; those before an unusable id are handed on before the error.
    """
    for batch in batches:
        fresh: list[dict[str, Any]] = []
        for klant in batch:
            klant_id = klant.get("id")
            if type(klant_id) is not int or not 1 <= klant_id <= MAX_ID:  # bool is no id
                yield fresh
                raise _unusable_id(klant_id)
            if klant_id in seen or (min_id is not None and klant_id < min_id):
                continue
            seen.add(klant_id)
            fresh.append(klant)
        yield fresh


def _unusable_id(klant_id: object) -> RecrasInvalidResponseError:
    if type(klant_id) is not int:
        msg = f"GET /api2/klanten returned a customer without an integer id: {klant_id!r}"
        return RecrasInvalidResponseError(msg)
    # No Recras id is below 1 or above PHP's largest integer; bookmarked, such an id would
    # be refused by the next run's state check, run after run.
    msg = (
        f"GET /api2/klanten returned customer id {klant_id}, which no Recras customer "
        f"can have (ids run from 1 to {MAX_ID}); stopping before it is bookmarked."
    )
    return RecrasInvalidResponseError(msg)
