"""Each stream's bookmark is checked by its kind before a run: an id, or an ISO date.

The check itself, then the real executable refusing a state before its first request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.catalogs import catalog_of

from recras_sandbox.testing import SandboxProcess
from tap_recras.inputs import TapInputError, check_state
from tap_recras.streams import BOOKMARKS
from tap_recras.testing import run_tap


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stream", "key", "value", "shown"),
    [
        ("boekingen", "id", "8421", '"8421"'),
        ("boekingen", "id", 2**64, str(2**64)),
        ("boekingen", "id", 12.5, "12.5"),
        ("facturen", "datum", "garbage", '"garbage"'),
        ("factuurregels", "eind", 20261208, "20261208"),
    ],
)
def test_the_tap_refuses_a_bookmark_not_of_its_kind_before_any_request(
    stream: str, key: str, value: Any, shown: str
) -> None:
    """The real executable, with nothing listening: the state is refused before a request."""
    config = {"base_url": "http://127.0.0.1:9", "api_key": "state-check-key"}

    done = run_tap(config, catalog=catalog_of((stream,)), state=state_of(stream, key, value))

    assert done.returncode == 1, done.stderr[-3000:]
    last_line = done.stderr.strip().splitlines()[-1]
    assert f"bookmarks.{stream}.replication_key_value must be" in last_line, last_line
    assert f"got {shown}" in last_line, last_line
    assert "Traceback" not in done.stderr
    assert done.records(stream) == []


def _starting_values(stderr: str) -> dict[str, str]:
    """Each stream's value in the SDK's "Starting incremental sync" log line."""
    found = re.findall(r"Starting incremental sync of '(\w+)' with bookmark value: (\S+)", stderr)
    return dict(found)


def test_the_starting_bookmark_logged_is_the_state_s_never_start_date(
    sandbox: SandboxProcess,
) -> None:
    """The SDK would log ``start_date`` as the bookmark of any stream without one; the
    streams use it their own way (an id stream never), so the line names the state's value."""
    config = sandbox.config(start_date="2015-03-01")
    catalog = catalog_of(("klanten", "facturen"))

    first = run_tap(config, catalog=catalog)
    assert first.returncode == 0, first.stderr[-3000:]
    assert _starting_values(first.stderr) == {"klanten": "None", "facturen": "None"}

    state = first.last_state
    assert state is not None
    second = run_tap(config, catalog=catalog, state=state)
    assert second.returncode == 0, second.stderr[-3000:]
    bookmarks = state["bookmarks"]
    assert _starting_values(second.stderr) == {
        name: str(bookmarks[name]["replication_key_value"]) for name in ("klanten", "facturen")
    }
