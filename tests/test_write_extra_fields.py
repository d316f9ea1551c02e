"""extra_fields on PUT: right whether a PUT merges the list by name or replaces it.

Issue 9 item 8. The docs do not say which; the sandbox offers both readings. The target's
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
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from target_support import SECRET_KEY, customer, run_target, singer_input, target_config

SIZE = {"name": "Schoenmaat", "type": "number", "value": 42}
SINCE = {"name": "Lid sinds", "type": "date", "value": "2020-01-01"}
NOT_SHOWN = "Recras does not show a customer's extra fields"


def _extra(sandbox: Any) -> dict[str, Any]:
    (item,) = sandbox.customers()
    return {field["name"]: field["value"] for field in item["extra_fields"]}


@pytest.mark.parametrize("put_extra_fields", ["merge", "replace"])
def test_empty_extra_fields_change_nothing(
    sandbox_factory: Any, tmp_path: Path, put_extra_fields: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, put_extra_fields=put_extra_fields)
    config = target_config(tmp_path, sandbox.config())
    assert (
        run_target(config, singer_input([customer(1, extra_fields=[SIZE, SINCE])])).returncode == 0
    )
    result = run_target(config, singer_input([customer(1, plaats="Assen", extra_fields=[])]))
    assert result.returncode == 0, result.stderr
    assert "1 updated" in result.stderr
    assert _extra(sandbox) == {"Schoenmaat": 42, "Lid sinds": "2020-01-01"}


@pytest.mark.parametrize("put_extra_fields", ["merge", "replace"])
def test_unshown_extra_fields_are_sent_with_a_warning(
    sandbox_factory: Any, tmp_path: Path, put_extra_fields: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, put_extra_fields=put_extra_fields)
    config = target_config(tmp_path, sandbox.config())
    assert (
        run_target(config, singer_input([customer(1, extra_fields=[SIZE, SINCE])])).returncode == 0
    )
    changed = [customer(1, extra_fields=[{**SIZE, "value": v}]) for v in (43, 44)]
    result = run_target(config, singer_input(changed))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(NOT_SHOWN) == 1
    expected = {"Schoenmaat": 44} | (
        {"Lid sinds": "2020-01-01"} if put_extra_fields == "merge" else {}
    )
    assert _extra(sandbox) == expected


@contextmanager
def recras_showing_extra_fields(extra_fields: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Customer 5 with its extra fields in the detail; a PUT replaces the list (and records)."""
    state: dict[str, Any] = {"extra_fields": list(extra_fields), "puts": []}
    person = {"id": 1, "voornaam": "Anna", "email1": "anna1@example.com", "hoofdcontact": True}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if re.fullmatch(r"/api2/klanten/5", self.path):
                detail = {"id": 5, "naam": "Klant 1", "contactpersonen": [person]}
                self._send(200, {**detail, "extra_fields": state["extra_fields"]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["puts"].append(body)
            if "extra_fields" in body:
                state["extra_fields"] = body["extra_fields"]
            self._send(200, {"id": 5, "naam": "Klant 1"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state["base_url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_shown_extra_fields_are_merged_before_a_replacing_put(tmp_path: Path) -> None:
    with recras_showing_extra_fields([SIZE, SINCE]) as recras:
        config = target_config(tmp_path, {"base_url": recras["base_url"], "api_key": SECRET_KEY})
        record = customer(1, id=5, extra_fields=[{**SIZE, "value": 43}])
        result = run_target(config, singer_input([record], key_properties=["id"]))
        assert result.returncode == 0, result.stderr
        assert NOT_SHOWN not in result.stderr
        assert recras["extra_fields"] == [{**SIZE, "value": 43}, SINCE]
        (put,) = recras["puts"]
        assert put["contactpersonen"] == [{"id": 1, "hoofdcontact": True}]
