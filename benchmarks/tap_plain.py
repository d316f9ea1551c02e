"""The lower bound tap-recras is measured against: plain ``requests`` + ``json``.

It does the least a hand-written extractor must do to produce the same RECORD lines: fetch
``GET /api2/klanten`` whole, ``json.loads`` it, and write one line per customer; with
``--details N`` it also fetches every customer's detail on N threads (in list order) and
writes the customer with its nested ``contactpersonen`` plus one ``contactpersonen`` record
per person. No retries, no state, no schema: this is the floor, not a competitor.

Usage: ``python benchmarks/tap_plain.py BASE_URL API_KEY [--details THREADS] > out.jsonl``
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter


def main() -> None:
    """Fetch and print; see the module docstring."""
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("--details", type=int, default=0, help="detail threads; 0 = none")
    args = parser.parse_args()

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=max(args.details, 1)))
    session.headers["Authorization"] = f"Bearer {args.api_key}"
    response = session.get(f"{args.base_url}/api2/klanten", timeout=600)
    response.raise_for_status()
    klanten: list[dict[str, Any]] = json.loads(response.content)
    out = sys.stdout
    now = datetime.now(UTC).isoformat()

    def record(stream: str, row: dict[str, Any]) -> None:
        line = {"type": "RECORD", "stream": stream, "record": row, "time_extracted": now}
        out.write(json.dumps(line, separators=(",", ":")) + "\n")

    if not args.details:
        for klant in klanten:
            record("klanten", klant)
        return

    def detail(klant: dict[str, Any]) -> dict[str, Any]:
        answer = session.get(f"{args.base_url}/api2/klanten/{klant['id']}", timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = json.loads(answer.content)
        return result

    with ThreadPoolExecutor(max_workers=args.details) as pool:
        for klant in pool.map(detail, klanten):
            for position, person in enumerate(klant["contactpersonen"]):
                record("contactpersonen", {**person, "klant_id": klant["id"], "positie": position})
            record("klanten", klant)


if __name__ == "__main__":
    main()
