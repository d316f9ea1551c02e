"""Two per-record singer-sdk steps the plugins do differently, timed against their replacement.

1. tap-recras: the SDK removes deselected properties from every record with a walk of the
   record against the schema and the selection mask; the tap pops the deselected top-level
   names it worked out once (``RecrasStream.write_record``). Timed on the customers of a
   fresh sandbox's ``GET /api2/klanten``.
2. target-recras: the SDK's reader parses each line with ``json.loads(parse_float=Decimal)``;
   the target's (``target_recras/input/reader.py``) with msgspec. Timed on the RECORD lines of
   ``target_data.py``.

The SDK's walk is a private SDK helper; it is imported here only to time it (the plugins
never call it by name). Best of ``--repeat``; printed, never asserted.

    .venv/bin/python benchmarks/sdk_steps_benchmark.py [--customers 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from decimal import Decimal

import requests
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from target_data import customers

from recras_sandbox.testing import SandboxProcess
from tap_recras.tap import TapRecras
from target_recras.input.reader import decode_line


def _best_us(action: Callable[[], object], count: int, repeat: int) -> float:
    return min(timeit.repeat(action, number=1, repeat=repeat)) / count * 1e6


def deselection(count: int, repeat: int) -> None:
    """Print the SDK's deselection walk per customer against popping top-level names."""
    with SandboxProcess(customers=count) as sandbox:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        url = f"{sandbox.base_url}/api2/klanten"
        body = requests.get(url, headers=headers, timeout=120).json()
        stream = TapRecras(config=sandbox.config()).streams["klanten"]

    def walk() -> None:
        for record in body:
            pop_deselected_record_properties(record, stream.schema, stream.mask)

    def pop() -> None:
        for record in body:
            record.pop("not selected", None)

    sdk, ours = _best_us(walk, len(body), repeat), _best_us(pop, len(body), repeat)
    print(f"\n== removing deselected properties, {len(body)} customers, nothing deselected")
    print(f"SDK walk {sdk:6.2f} µs/customer, top-level pop {ours:6.2f} µs/customer")


def reading(count: int, repeat: int) -> None:
    """Print json.loads(parse_float=Decimal) per line against msgspec."""
    lines = [
        json.dumps({"type": "RECORD", "stream": "klanten", "record": record}).encode()
        for record in customers(count)
    ]
    sdk = _best_us(lambda: [json.loads(line, parse_float=Decimal) for line in lines], count, repeat)
    ours = _best_us(lambda: [decode_line(line) for line in lines], count, repeat)
    print(f"\n== parsing RECORD lines, {count} customers (target_data.py)")
    print(
        f"json.loads(parse_float=Decimal) {sdk:6.2f} µs/line, msgspec {ours:6.2f} µs/line, "
        f"{sdk / ours:.1f}x faster"
    )


def main() -> None:
    """Time both steps."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    deselection(args.customers, args.repeat)
    reading(args.customers, args.repeat)


if __name__ == "__main__":
    main()
