"""A tap run that Recras's answers stop ends with one line saying why, exit 1, no traceback.

The message names the request and the value (an id no customer can have, a refused key);
a Python traceback after it only buried that line. Real tap, hostile server.
"""

from __future__ import annotations

import pytest
from support.hostile_server import HostileServer, Reply

from tap_recras.testing import run_tap


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply.json([{"id": 0, "naam": "x"}]), "returned customer id 0, which no Recras customer"),
        (Reply.json({"error": {"message": "Niet ingelogd"}}, 401), "(401)"),
    ],
    ids=["impossible-id", "refused-key"],
)
def test_a_stop_on_recras_answer_is_one_line_without_a_traceback(reply: Reply, said: str) -> None:
    with HostileServer({"GET /api2/klanten": reply}) as server:
        run = run_tap(server.config(api_key="one-line-error-key"), log_level="INFO")

    assert run.returncode == 1
    last = run.stderr.strip().split("\n")[-1]
    assert "CRITICAL" in last and said in last, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
