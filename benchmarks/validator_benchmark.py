"""Which validator target-recras needs: the three that could check its schema, in one run.

1. Per record: ``target_recras.fastcheck`` (the compiled yes/no checker), fastjsonschema
   (``fastjsonschema.compile``, a refusal is an exception) and jsonschema
   (``Draft7Validator.is_valid``) on the target benchmark's customers
   (``target_data.py``), best of ``--repeat``, in µs per record and as a ratio to fastcheck.
2. End to end: the dry run of ``target_benchmark.py`` (goal <= 4 against ``json.loads`` per
   line) with fastcheck and with fastjsonschema as the validator's fast path, as executables
   and in-process.

fastjsonschema is not a dependency of the project: where it is not importable, its lines say
so (``PYTHONPATH=<dir with fastjsonschema>`` adds it for the measurement only).

    .venv/bin/python benchmarks/validator_benchmark.py [--records 100000] [--per-record 10000]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
from target_benchmark import dry_run_times, report
from target_data import customers

from recras_api.schemas import KLANT_PAYLOAD_SCHEMA
from target_recras import validation
from target_recras.fastcheck import compile_checker
from target_recras.target import TargetRecras

Checker = Callable[[Any], bool]


def fastjsonschema_checker(schema: dict[str, Any]) -> Checker:
    """fastjsonschema's compiled validator as a yes/no function (raises ImportError if absent)."""
    import fastjsonschema  # noqa: PLC0415 - optional: only this measurement needs it

    validate = fastjsonschema.compile(schema)

    def check(instance: Any) -> bool:
        try:
            validate(instance)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return check


FAST_PATHS: dict[str, Callable[[dict[str, Any]], Checker]] = {
    "fastcheck": compile_checker,
    "fastjsonschema": fastjsonschema_checker,
}


@contextmanager
def fast_path(name: str) -> Iterator[None]:
    """target-recras, in this process, with ``name`` compiling its fast path."""
    with mock.patch.object(validation, "compile_checker", FAST_PATHS[name]):
        yield


def _usable(name: str) -> bool:
    try:
        FAST_PATHS[name](KLANT_PAYLOAD_SCHEMA)
    except ImportError:
        print(f"{name}: not importable, not measured")
        return False
    return True


def _check_all(check: Checker, records: list[dict[str, Any]]) -> None:
    for record in records:
        check(record)


def per_record(count: int, repeat: int) -> None:
    """Print µs per record for each validator and its ratio to fastcheck."""
    records = list(customers(count))
    checkers: dict[str, Checker] = {
        name: FAST_PATHS[name](KLANT_PAYLOAD_SCHEMA) for name in FAST_PATHS if _usable(name)
    }
    checkers["jsonschema"] = jsonschema.Draft7Validator(KLANT_PAYLOAD_SCHEMA).is_valid
    print(f"\n== validation per record, {count} customers (target_data.py), best of {repeat}")
    times: dict[str, float] = {}
    for name, check in checkers.items():
        if not all(check(record) for record in records):
            raise SystemExit(f"{name} refused a benchmark record")
        run = functools.partial(_check_all, check, records)
        best = min(timeit.repeat(run, number=1, repeat=repeat))
        times[name] = best / count * 1e6
        print(f"{name:>15}: {times[name]:7.2f} µs/record, {times[name] / times['fastcheck']:5.1f}x")


def end_to_end(work: Path, count: int) -> None:
    """Print the dry run's ratio to json.loads with each fast path."""
    for name in FAST_PATHS:
        if not _usable(name):
            continue
        command = [sys.executable, __file__, "--as-target", name]
        with fast_path(name):
            times = dry_run_times(work, count, target=command)
        labels = ("json.loads per line", f"dry run, {name}")
        report(f"dry run with validation, {count} records, fast path {name}", times, labels, 4)


def main() -> None:
    """Run both measurements, or (``--as-target``) be target-recras with another fast path."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="dry-run records")
    parser.add_argument("--per-record", type=int, default=10_000, help="records timed alone")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--as-target", choices=FAST_PATHS, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.as_target:
        with fast_path(args.as_target):
            TargetRecras.cli(args=rest)
        return
    per_record(args.per_record, args.repeat)
    with tempfile.TemporaryDirectory(prefix="validator-bench-") as tmp:
        end_to_end(Path(tmp), args.records)


if __name__ == "__main__":
    main()
