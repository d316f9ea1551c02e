"""Which validator target-recras needs: its fast path, jsonschema-rs and jsonschema, in one run.

1. Per record: the target's fast path (``validation.fast_checker``: jsonschema-rs, with
   jsonschema deciding for a value jsonschema-rs cannot read), jsonschema-rs alone
   (``Draft7Validator.is_valid``) and jsonschema (the reference validator, which explains a
   refused record) on the target benchmark's customers (``target_data.py``), best of
   ``--repeat`` taken in turns, in µs per record and as a ratio to the fast path.
2. End to end: the dry run of ``target_benchmark.py`` (goal <= 4 against ``json.loads`` per
   line): ``target-recras`` as it is, and with jsonschema deciding every record (no fast
   path), as executables and in-process.

    .venv/bin/python benchmarks/validator_benchmark.py [--records 100000] [--per-record 10000]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import timeit
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import jsonschema_rs
from target_benchmark import dry_run_times, report
from target_data import customers

from recras_api.schemas import KLANT_PAYLOAD_SCHEMA
from target_recras.input import validation
from target_recras.target import TargetRecras

Checker = validation.Checker


def jsonschema_checker(reference: jsonschema.protocols.Validator) -> Checker:
    """No fast path: jsonschema decides every record."""
    return reference.is_valid


@contextmanager
def jsonschema_deciding() -> Iterator[None]:
    """target-recras, in this process, with jsonschema deciding every record."""
    with mock.patch.object(validation, "fast_checker", jsonschema_checker):
        yield


def _check_all(check: Checker, records: list[dict[str, Any]]) -> None:
    for record in records:
        check(record)


def per_record(count: int, repeat: int) -> None:
    """Print µs per record for each validator and its ratio to the target's fast path."""
    records = list(customers(count))
    reference = validation.ReferenceValidator(KLANT_PAYLOAD_SCHEMA)
    bare = jsonschema_rs.Draft7Validator(KLANT_PAYLOAD_SCHEMA, validate_formats=False)
    checkers: dict[str, Checker] = {
        "fast path": validation.fast_checker(reference),
        "jsonschema-rs": bare.is_valid,
        "jsonschema": jsonschema_checker(reference),
    }
    print(f"\n== validation per record, {count} customers (target_data.py), best of {repeat}")
    for name, check in checkers.items():
        if not all(check(record) for record in records):
            raise SystemExit(f"{name} refused a benchmark record")
    best = dict.fromkeys(checkers, float("inf"))
    # In turns, every other turn backwards: a burst of load elsewhere, and the garbage the
    # previous validator left, hit each of them alike.
    names = list(checkers)
    for turn in range(repeat):
        for name in names if turn % 2 == 0 else reversed(names):
            run = functools.partial(_check_all, checkers[name], records)
            best[name] = min(best[name], timeit.timeit(run, number=1))
    for name, seconds in best.items():
        ratio = seconds / best["fast path"]
        print(f"{name:>15}: {seconds / count * 1e6:7.2f} µs/record, {ratio:5.1f}x")


def end_to_end(work: Path, count: int) -> None:
    """Print the dry run's ratio to json.loads: target-recras, then with jsonschema alone."""
    labels = ("json.loads per line", "dry run, fast path")
    report(f"dry run with validation, {count} records", dry_run_times(work, count), labels, 4)
    command = [sys.executable, __file__, "--as-target-without-fast-path"]
    with jsonschema_deciding():
        times = dry_run_times(work, count, target=command)
    labels = ("json.loads per line", "dry run, jsonschema alone")
    report(f"dry run with validation, {count} records, no fast path", times, labels, 4)


def main() -> None:
    """Run both measurements, or be target-recras with jsonschema deciding every record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="dry-run records")
    parser.add_argument("--per-record", type=int, default=10_000, help="records timed alone")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--as-target-without-fast-path", action="store_true", help=argparse.SUPPRESS
    )
    args, rest = parser.parse_known_args()
    if args.as_target_without_fast_path:
        with jsonschema_deciding():
            TargetRecras.cli(args=rest)
        return
    per_record(args.per_record, args.repeat)
    with tempfile.TemporaryDirectory(prefix="validator-bench-") as tmp:
        end_to_end(Path(tmp), args.records)


if __name__ == "__main__":
    main()
