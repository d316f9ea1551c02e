"""extra_fields on PUT: right whether a PUT merges the list by name or replaces it.

The docs do not say which; the sandbox offers both readings. The target's
rule: a record's extra fields are set by name, the customer's others are left alone.

* ``extra_fields: []`` sets nothing, so it is never sent (under the replace reading it would
  clear the list): the fields stay under both readings.
* Where Recras shows a customer's extra fields (``GET /api2/klanten/<id>``), the target sends
  the whole merged list, which is right under both readings. A small Recras look-alike on
  127.0.0.1 that shows them and replaces on PUT proves it.
* The documented detail shows none (nor does the sandbox): then the record's fields are sent
  and a warning says once what that means under the replace reading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, Seen
from support.target import SECRET_KEY, customer, run_target, singer_input, target_config

SIZE = {"name": "Schoenmaat", "type": "number", "value": 42}
SINCE = {"name": "Lid sinds", "type": "date", "value": "2020-01-01"}
NOT_SHOWN = "Recras does not show a customer's extra fields"


def _extra(sandbox: Any) -> dict[str, Any]:
    (item,) = sandbox.customers()
    return {field["name"]: field["value"] for field in item["extra_fields"]}


def _customer_with_two_extra_fields(
    sandbox_factory: Any, tmp_path: Path, put_extra_fields: str
) -> tuple[Any, Path]:
    """A sandbox under the ``put_extra_fields`` reading where the target created customer 1
    with SIZE and SINCE; the sandbox and the target config."""
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, put_extra_fields=put_extra_fields)
    config = target_config(tmp_path, sandbox.config())
    assert (
        run_target(config, singer_input([customer(1, extra_fields=[SIZE, SINCE])])).returncode == 0
    )
    return sandbox, config


@pytest.mark.slow
@pytest.mark.parametrize("put_extra_fields", ["merge", "replace"])
def test_empty_extra_fields_change_nothing(
    sandbox_factory: Any, tmp_path: Path, put_extra_fields: str
) -> None:
    sandbox, config = _customer_with_two_extra_fields(sandbox_factory, tmp_path, put_extra_fields)
    result = run_target(config, singer_input([customer(1, plaats="Assen", extra_fields=[])]))
    assert result.returncode == 0, result.stderr
    assert "1 updated" in result.stderr
    assert _extra(sandbox) == {"Schoenmaat": 42, "Lid sinds": "2020-01-01"}


@pytest.mark.slow
@pytest.mark.parametrize("put_extra_fields", ["merge", "replace"])
def test_unshown_extra_fields_are_sent_with_a_warning(
    sandbox_factory: Any, tmp_path: Path, put_extra_fields: str
) -> None:
    sandbox, config = _customer_with_two_extra_fields(sandbox_factory, tmp_path, put_extra_fields)
    changed = [customer(1, extra_fields=[{**SIZE, "value": v}]) for v in (43, 44)]
    result = run_target(config, singer_input(changed))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(NOT_SHOWN) == 1
    expected = {"Schoenmaat": 44} | (
        {"Lid sinds": "2020-01-01"} if put_extra_fields == "merge" else {}
    )
    assert _extra(sandbox) == expected


class RecrasShowingExtraFields(HostileServer):
    """Customer 5 with its extra fields in the detail; a PUT replaces the list (and records)."""

    def __init__(self, extra_fields: list[dict[str, Any]]) -> None:
        self.extra_fields = list(extra_fields)
        self.puts: list[dict[str, Any]] = []
        super().__init__({"GET /api2/klanten/5": self._detail, "PUT /api2/klanten/*": self._put})

    def _detail(self, request: Seen) -> Reply:
        person = {"id": 1, "voornaam": "Anna", "email1": "anna1@example.com", "hoofdcontact": True}
        detail = {"id": 5, "naam": "Klant 1", "contactpersonen": [person]}
        return Reply.json({**detail, "extra_fields": self.extra_fields})

    def _put(self, request: Seen) -> Reply:
        body = json.loads(request.body)
        self.puts.append(body)
        if "extra_fields" in body:
            self.extra_fields = body["extra_fields"]
        return Reply.json({"id": 5, "naam": "Klant 1"})


def test_shown_extra_fields_are_merged_before_a_replacing_put(tmp_path: Path) -> None:
    with RecrasShowingExtraFields([SIZE, SINCE]) as recras:
        config = target_config(tmp_path, recras.config(api_key=SECRET_KEY))
        record = customer(1, id=5, extra_fields=[{**SIZE, "value": 43}])
        result = run_target(config, singer_input([record], key_properties=["id"]))
        assert result.returncode == 0, result.stderr
        assert NOT_SHOWN not in result.stderr
        assert recras.extra_fields == [{**SIZE, "value": 43}, SINCE]
        (put,) = recras.puts
        assert put["contactpersonen"] == [{"id": 1, "hoofdcontact": True}]
