"""Reverse ETL in proportion to change: requests of a nightly full export (issue 13 item 1).

A fresh, empty ``recras-sandbox`` on 127.0.0.1 and the real ``target-recras``. Three runs of
the same 500 customers (``target_data.py``: source keys, 1-2 contact persons, extra fields):

1. the first export: every customer is created;
2. the next night's export, in which 10 customers changed (other ``plaats`` and ``adres``),
   written in another order, with the fields of each record in another order: the goal is
   one request per change (a ``PUT`` each: their contact persons and extra fields are those
   last written, so no ``GET``), and exactly the 10 changes applied;
3. the same export with ``skip_unchanged: false``: every record is written again.

Requests are counted by the sandbox (``/api2`` requests by route). Printed beside the bound;
nothing is asserted (tests/target/skip_unchanged/test_skip_unchanged.py does). Stops by itself:
each run of the target has a timeout, and the sandbox is stopped at the end.

Usage: ``.venv/bin/python benchmarks/reverse_etl_benchmark.py [--customers N] [--changed N]``
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from target_data import customers

from recras_sandbox.testing import SandboxProcess

TARGET = str(Path(sys.executable).parent / "target-recras")
#: Requests per changed customer: the goal of issue 19 item 6 (issue 13 item 1 allowed 2.5).
REQUESTS_PER_CHANGE = 1
RUN_TIMEOUT = 300


def singer(records: list[dict[str, Any]]) -> str:
    schema = {"type": "object", "properties": {}}
    lines = [{"type": "SCHEMA", "stream": "klanten", "schema": schema}]
    lines[0]["key_properties"] = ["external_id"]
    lines += [{"type": "RECORD", "stream": "klanten", "record": r} for r in records]
    lines.append({"type": "STATE", "value": {"exported": len(records)}})
    return "".join(json.dumps(line) + "\n" for line in lines)


def run(sandbox: SandboxProcess, work: Path, text: str, **settings: Any) -> tuple[int, str, str]:
    """One target run: how many /api2 requests it made, by route, and its summary line."""
    config = work / "config.json"
    config.write_text(
        json.dumps(
            {
                **sandbox.config(),
                "id_map_path": str(work / "id-map.sqlite3"),
                "rejects_path": str(work / "rejects.jsonl"),
                **settings,
            }
        )
    )
    sandbox.reset_stats()
    result = subprocess.run(
        [TARGET, "--config", str(config)],
        input=text,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"target-recras failed:\n{result.stderr[-3000:]}")
    summary = result.stderr.rsplit("Summary: ", maxsplit=1)[-1].splitlines()[0]
    requests: dict[str, int] = sandbox.stats()["requests"]
    routes = ", ".join(f"{n} {route}" for route, n in sorted(requests.items()) if n)
    return sum(requests.values()), routes, summary


def changes_applied(
    sandbox: SandboxProcess, first: list[dict[str, Any]], last: list[dict[str, Any]]
) -> tuple[int, int]:
    """(customers that differ from the first export, customers that hold their last record).

    Compared on ``plaats`` and ``adres``, the fields the changes change; by ``naam``.
    """
    held = {item["naam"]: item for item in sandbox.customers()}

    def holds(record: dict[str, Any]) -> bool:
        item = held.get(record["naam"], {})
        return bool(item.get("plaats") == record["plaats"] and item.get("adres") == record["adres"])

    return sum(not holds(r) for r in first), sum(holds(r) for r in last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    records = list(customers(args.customers))
    rng = random.Random(13)
    changed = rng.sample(range(len(records)), args.changed)
    nightly = [dict(r) for r in records]
    for n in changed:
        nightly[n].update(plaats="Zwolle", adres=f"Nieuwe Weg {n}")
    shuffled = [dict(reversed(r.items())) for r in nightly]
    rng.shuffle(shuffled)
    with SandboxProcess(customers=0) as sandbox, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        first, routes, summary = run(sandbox, work, singer(records))
        print(f"first export, {len(records)} customers: {first} requests ({routes})")
        print(f"  {summary}")
        rerun, routes, summary = run(sandbox, work, singer(shuffled))
        applied, right = changes_applied(sandbox, records, nightly)
        print(
            f"reverse ETL rerun, {len(records)} customers, {args.changed} changed: {rerun} "
            f"requests (<= {REQUESTS_PER_CHANGE * args.changed}), {applied} changes applied"
        )
        print(
            f"  {routes}; {right} of {len(nightly)} customers hold their last record, "
            f"{len(sandbox.customers())} customers in Recras"
        )
        print(f"  {summary}")
        off, routes, summary = run(sandbox, work, singer(shuffled), skip_unchanged=False)
        print(f"same export with skip_unchanged false: {off} requests ({routes})")
        print(f"  {summary}")


if __name__ == "__main__":
    main()
