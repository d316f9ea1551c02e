"""Customer details: contact persons that are not a list of objects stop the run clearly.

The real executable runs against a small hostile server whose list items (or details) carry
malformed ``contactpersonen``. A detail that answers 404:
tests/tap/customers/test_detail_not_found.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply

from tap_recras.testing import make_catalog, run_tap


def hostile_list(items: list[Any], detail: Any = None) -> HostileServer:
    """Serves one customer list, and ``detail`` (else 404) for every customer's detail."""
    routes = {"GET /api2/klanten": Reply.json(items)}
    if detail is not None:
        routes["GET /api2/klanten/*"] = Reply.json(detail)
    return HostileServer(routes)


@pytest.mark.parametrize(
    ("persons", "problem"),
    [
        (["Jan"], "item 0 is str"),
        ([{"id": 1}, 5], "item 1 is int"),
        ("Jan", "got str"),
        ({"id": 1}, "got dict"),
    ],
)
def test_list_item_persons_that_are_not_objects_stop_the_run_naming_the_customer(
    persons: Any, problem: str
) -> None:
    with hostile_list([{"id": 7, "naam": "A", "contactpersonen": persons}]) as server:
        config = server.config(api_key="hostile-key")
        run = run_tap(config, catalog=make_catalog(config))

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert (
        f"GET /api2/klanten, customer 7: contactpersonen is not a list of objects ({problem})"
        in last_line
    ), run.stderr[-2000:]
    assert run.records("klanten") == []


def test_detail_persons_that_are_not_objects_name_the_item() -> None:
    detail = {"id": 7, "contactpersonen": [None]}
    with hostile_list([{"id": 7, "naam": "A"}], detail=detail) as server:
        config = server.config(api_key="hostile-key")
        run = run_tap(config, catalog=make_catalog(config))

    assert run.returncode != 0
    last_line = run.stderr.strip().splitlines()[-1]
    assert "GET /api2/klanten/7: contactpersonen is not a list of objects (item 0 is NoneType)" in (
        last_line
    )
