"""Each stream's bookmark is checked by its kind before a run: an id, or an ISO date."""

from __future__ import annotations

from typing import Any

import pytest

from tap_recras.inputs import TapInputError, check_state
from tap_recras.streams import BOOKMARKS


def state_of(stream: str, key: str, value: Any) -> dict[str, Any]:
    return {"bookmarks": {stream: {"replication_key": key, "replication_key_value": value}}}


@pytest.mark.parametrize(
    ("stream", "key", "value"),
    [
        ("boekingen", "id", 8421),
        ("facturen", "datum", "2026-12-07"),
        ("factuurregels", "eind", "2026-12-08"),
        ("facturen", "datum", None),
    ],
)
def test_a_bookmark_of_its_kind_is_accepted(stream: str, key: str, value: Any) -> None:
    state = state_of(stream, key, value)

    assert check_state(state, BOOKMARKS) is state


@pytest.mark.parametrize(
    ("stream", "key", "value", "problem"),
    [
        (
            "boekingen",
            "id",
            "8421",
            'must be a booking id (an integer from 0 to 9223372036854775807), got "8421"',
        ),
        ("boekingen", "id", -1, "must be a booking id"),
        ("facturen", "datum", "2026-13-01", 'must be an ISO date (YYYY-MM-DD), got "2026-13-01"'),
        ("facturen", "datum", 20261207, "must be an ISO date (YYYY-MM-DD), got 20261207"),
        (
            "factuurregels",
            "eind",
            "8 december",
            'must be an ISO date (YYYY-MM-DD), got "8 december"',
        ),
        ("facturen", "id", "2026-12-07", 'replication_key must be "datum", got "id"'),
    ],
)
def test_a_bookmark_not_of_its_kind_is_refused_naming_stream_and_value(
    stream: str, key: str, value: Any, problem: str
) -> None:
    with pytest.raises(TapInputError) as refused:
        check_state(state_of(stream, key, value), BOOKMARKS)

    assert f"bookmarks.{stream}." in str(refused.value)
    assert problem in str(refused.value)


def test_a_booking_bookmark_keeps_its_ids_to_ask_again_checked() -> None:
    state = state_of("boekingen", "id", 9)
    state["bookmarks"]["boekingen"]["not_found_ids"] = [3, "4"]

    with pytest.raises(TapInputError, match=r"bookmarks\.boekingen\.not_found_ids must be a list"):
        check_state(state, BOOKMARKS)
