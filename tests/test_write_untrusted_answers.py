"""Answers to a POST that cannot be right stop the run; the rerun resolves them.

Issue 8 item 5. A small hostile server on 127.0.0.1 answers ``POST /api2/klanten`` with
scripted ids: a negative id, id 0, or the same new id for two different creates. The real
target must stop (exit 1, one CRITICAL line naming the input line and the answer), emit no
STATE past the record, and leave the creates *pending* in the id map; a rerun against a real
sandbox looks them up and writes every record exactly once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from target_support import (
    SECRET_KEY,
    customer,
    run_target,
    singer_input,
    states,
    target_config,
)

from target_recras.id_map import IdMap


@contextmanager
def hostile_server(post_ids: list[int]) -> Iterator[str]:
    """Recras look-alike: an empty list, 404 details, POSTs answered 201 with ``post_ids``."""
    answers = iter(post_ids)

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
            if self.path.split("?")[0] == "/api2/klanten":
                self._send(200, [])
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(201, {"id": next(answers), "type": "klant"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


CASES = {
    "negative id": ([-5], 1, "answered 201 with customer id -5, which no Recras customer can have"),
    "id 0": ([0], 1, "answered 201 with customer id 0, which no Recras customer can have"),
    "same id twice": (
        [7, 7],
        2,
        "answered 201 with customer id 7, the new id it already gave the create of input line 2",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_untrusted_post_answer_stops_and_the_rerun_resolves_it(
    case: str, sandbox_factory: Any, tmp_path: Path
) -> None:
    post_ids, records, message = CASES[case]
    text = singer_input([customer(n) for n in range(1, records + 1)], state_every=1)
    with hostile_server(post_ids) as base_url:
        config = target_config(
            tmp_path, {"base_url": base_url, "api_key": SECRET_KEY}, max_workers=1
        )
        result = run_target(config, text, timeout=60)
    assert result.returncode == 1, result.stderr
    critical = [line for line in result.stderr.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1 and message in critical[0], result.stderr
    # No STATE covers the refused record; every create it concerns stays pending.
    assert {"done": records} not in states(result.stdout)
    id_map = IdMap(tmp_path / "id-map.sqlite3")
    assert len(id_map.pending()) == records
    id_map.close()

    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    rerun = run_target(target_config(tmp_path, sandbox.config()), text)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{records} created" in rerun.stderr
    assert sorted(item["naam"] for item in sandbox.customers()) == [
        f"Klant {n}" for n in range(1, records + 1)
    ]
