"""The lower bounds tap-recras is measured against: plain ``requests`` + ``json`` or ``msgspec``.

It does the least a hand-written extractor must do to produce the same RECORD lines: fetch
``GET /api2/klanten`` whole, decode it, and write one line per customer; with
``--details N`` it also fetches every customer's detail on N threads (in list order) and
writes the customer with its nested ``contactpersonen`` plus one ``contactpersonen`` record
per person. No retries, no state, no schema: this is the floor, not a competitor.

``--msgspec`` decodes the bodies and encodes the lines with msgspec instead of :mod:`json`
(the library the tap's message writer encodes with). Either way a line carries what the
tap's RECORD line carries: type, stream, the record as Recras sent it, and ``time_extracted``
in the tap's form (``...Z``); one timestamp for the run, which is the least work.

Usage: ``python benchmarks/tap_plain.py BASE_URL API_KEY [--details THREADS] [--msgspec]``
(output on stdout)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import msgspec
import requests
from requests.adapters import HTTPAdapter


def json_codec() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """Decode and encode with the standard library."""

    def encode(line: Any) -> bytes:
        return (json.dumps(line, separators=(",", ":")) + "\n").encode()

    return json.loads, encode


def msgspec_codec() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """Decode and encode with msgspec."""
    encoder = msgspec.json.Encoder()

    def encode(line: Any) -> bytes:
        return encoder.encode(line) + b"\n"

    return msgspec.json.decode, encode


def main() -> None:
    """Fetch and print; see the module docstring."""
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("--details", type=int, default=0, help="detail threads; 0 = none")
    parser.add_argument("--msgspec", action="store_true", help="msgspec instead of json")
    args = parser.parse_args()
    decode, encode = msgspec_codec() if args.msgspec else json_codec()

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=max(args.details, 1)))
    session.headers["Authorization"] = f"Bearer {args.api_key}"
    response = session.get(f"{args.base_url}/api2/klanten", timeout=600)
    response.raise_for_status()
    klanten: list[dict[str, Any]] = decode(response.content)
    out = sys.stdout.buffer
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def record(stream: str, row: dict[str, Any]) -> None:
        line = {"type": "RECORD", "stream": stream, "record": row, "time_extracted": now}
        out.write(encode(line))

    if not args.details:
        for klant in klanten:
            record("klanten", klant)
        return

    def detail(klant: dict[str, Any]) -> dict[str, Any]:
        answer = session.get(f"{args.base_url}/api2/klanten/{klant['id']}", timeout=60)
        answer.raise_for_status()
        result: dict[str, Any] = decode(answer.content)
        return result

    with ThreadPoolExecutor(max_workers=args.details) as pool:
        for klant in pool.map(detail, klanten):
            for position, person in enumerate(klant["contactpersonen"]):
                record("contactpersonen", {**person, "klant_id": klant["id"], "positie": position})
            record("klanten", klant)


if __name__ == "__main__":
    main()
