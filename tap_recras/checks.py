"""What the tap checks in Recras's answers before an item or its children go out.

Listed ids must be integers from 1 to :data:`~tap_recras.inputs.MAX_ID` (a bookmark past a
bad one would be refused by the next run), children (contact persons, booking lines,
payments) a list of objects with such an id (part of their key), and a date bookmarked a
date (:func:`dated_items`); anything else stops the run with an error naming the request and
the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeGuard

from recras_api.errors import RecrasInvalidResponseError
from recras_api.paging import ListEndpoint
from tap_recras.inputs import MAX_ID, is_iso_date


def checked_list(children: object, key: str, source: str) -> list[dict[str, Any]]:
    """``children`` if it is a list of objects with ids; else an error naming ``source``,
    ``key`` and the item.

    A child's id is part of its key (with its parent's): one without an integer id from 1
    to :data:`MAX_ID` would reach a target key-less, or collide with another.
    """
    if not isinstance(children, list):
        problem = f"got {type(children).__name__}"
    else:
        bad = next((i for i, child in enumerate(children) if not isinstance(child, dict)), None)
        if bad is None:
            for index, child in enumerate(children):
                child_id = child.get("id")
                if not _is_recras_id(child_id):
                    msg = (
                        f"{source}: {key} item {index} has id {child_id!r}, which is no Recras "
                        f"id (an integer from 1 to {MAX_ID})"
                    )
                    raise RecrasInvalidResponseError(msg)
            return children
        problem = f"item {bad} is {type(children[bad]).__name__}"
    msg = f"{source}: {key} is not a list of objects ({problem})"
    raise RecrasInvalidResponseError(msg)


def dated_items(
    batches: Iterator[list[dict[str, Any]]], endpoint: ListEndpoint, key: str
) -> Iterator[list[dict[str, Any]]]:
    """The batches, once every item's ``key`` is null or an ISO date (``YYYY-MM-DD``).

    ``key`` is a bookmark: anything else bookmarked would be refused by every later run's
    state check (and compared with dates, an integer dropped the item). The items before
    the bad one are handed on before the error.
    """
    for batch in batches:
        for index, item in enumerate(batch):
            value = item.get(key)
            if value is not None and not (isinstance(value, str) and is_iso_date(value)):
                yield batch[:index]
                msg = (
                    f"GET {endpoint.path} returned {endpoint.noun} {item.get('id')} whose {key} "
                    f"{value!r} is not an ISO date (YYYY-MM-DD); stopping before it is "
                    "bookmarked."
                )
                raise RecrasInvalidResponseError(msg)
        yield batch


def new_items(
    batches: Iterator[list[dict[str, Any]]],
    endpoint: ListEndpoint,
    min_id: int | None,
    seen: set[int],
) -> Iterator[list[dict[str, Any]]]:
    """Check every listed item's id (1 to :data:`MAX_ID`); keep new ones from ``min_id`` on.

    Recras applies ``id>`` itself, which under its inclusive reading also sends the id just
    below ``min_id``; filtering drops that one, and keeps the no-duplicates promise on
    instances that ignore the parameter. An item listed twice (a page that shifted, or a
    list that repeats an item) is kept the first time only: ``seen`` holds the ids handed on
    in this run, and gains each new one. Items come and go in the batches they were
    decoded in; those before an unusable id are handed on before the error.
    """
    for batch in batches:
        fresh: list[dict[str, Any]] = []
        for item in batch:
            item_id = item.get("id")
            if not _is_recras_id(item_id):
                yield fresh
                raise _unusable_id(item_id, endpoint)
            if item_id in seen or (min_id is not None and item_id < min_id):
                continue
            seen.add(item_id)
            fresh.append(item)
        yield fresh


def _is_recras_id(value: object) -> TypeGuard[int]:
    """Whether ``value`` can be a Recras id: an integer from 1 to :data:`MAX_ID` (no bool)."""
    return type(value) is int and 1 <= value <= MAX_ID


def _unusable_id(item_id: object, endpoint: ListEndpoint) -> RecrasInvalidResponseError:
    noun = endpoint.noun
    if type(item_id) is not int:
        msg = f"GET {endpoint.path} returned a {noun} without an integer id: {item_id!r}"
        return RecrasInvalidResponseError(msg)
    # No Recras id is below 1 or above PHP's largest integer; bookmarked, such an id would
    # be refused by the next run's state check, run after run.
    msg = (
        f"GET {endpoint.path} returned {noun} id {item_id}, which no Recras {noun} "
        f"can have (ids run from 1 to {MAX_ID}); stopping before it is bookmarked."
    )
    return RecrasInvalidResponseError(msg)
