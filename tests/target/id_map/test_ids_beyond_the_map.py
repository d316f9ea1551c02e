"""A customer id the id map cannot hold: the run stops before any create is sent.

A broken or hostile Recras (here a small server on 127.0.0.1) lists a customer with an id
above 2**63. The highest listed id is every create's floor, which sqlite3 cannot store
(OverflowError, not an sqlite3.Error); the lanes' pending rows go to the map in shared
commits. Every lane must stop before its POST: a create sent without its pending row on
disk is made a second time by the rerun if the run dies before the answer.
"""

from __future__ import annotations

from pathlib import Path

from support.hostile_server import HostileServer, Reply
from support.target import SECRET_KEY, customer, run_target, singer_input, target_config


def test_an_id_above_the_maps_range_stops_every_lane_before_its_post(tmp_path: Path) -> None:
    recras = HostileServer(
        {
            "GET /api2/klanten": Reply.json([{"id": 2**64, "naam": "Huge"}]),
            "POST /api2/klanten": Reply.json({"id": 5, "type": "klant"}, 201),
        }
    )
    text = singer_input([customer(n) for n in range(1, 9)], state_every=100)
    with recras:
        config = target_config(tmp_path, recras.config(api_key=SECRET_KEY), max_workers=4)
        result = run_target(config, text, timeout=60)
    assert result.returncode == 1, result.stderr
    assert [r.path for r in recras.requests if r.method == "POST"] == [], result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    critical = [line for line in result.stderr.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1 and "could not be written" in critical[0], result.stderr
