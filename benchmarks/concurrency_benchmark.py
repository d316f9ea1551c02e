"""tap-recras and target-recras against a server that limits concurrency (issue 13 item 2).

A ``recras-sandbox`` with ``--max-concurrent 4`` (429 with ``Retry-After: 1`` above 4
``/api2`` requests in flight per key) and 5 ms added latency. The plain scripts that know the
limit, with 4 threads, are the bounds. The tap's child streams that need one request per
parent (issue 21), each against ``tap_plain.py --stream <parent> --details 4`` on one sandbox
of 2,000 customers and 2,000 bookings under the ``booking_lines=detail`` reading:

- ``contactpersonen``: ``GET /api2/klanten/{id}`` per customer;
- ``boekingsregels``: ``GET /api2/boekingen/{id}`` per booking (the list items carry no lines);
- ``betalingen``: ``GET /api2/facturen/{id}/betalingen`` per invoice (about 2,100; the
  invoices read FULL_TABLE).

And the target: ``target_plain.py post`` creating 2,000 customers (a fresh, empty sandbox per
run). The plugins run with ``max_workers`` 16 and have to find the limit themselves
(``recras_api.concurrency``). Printed per run: the wall times and the 429 answers; then the
ratio of the best times (goal <= 1.3) and the largest share of a plugin's requests answered
429 in any run (goal <= 5%). Nothing is asserted: the numbers depend on the machine and its
load.

Usage: ``.venv/bin/python benchmarks/concurrency_benchmark.py [--repeat N] [--customers N]
[--bookings N] [--only NAME ...]`` (``--only``, repeatable: a child stream above, or
``target``)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tap_benchmark import PLAIN, measure, tap_args
from tap_plain import CHILDREN
from target_benchmark import TARGET
from target_data import write_bodies_file, write_singer_file

from recras_sandbox.testing import SandboxProcess

#: The server's limit, which the plain script is told and the tap is not.
LIMIT = 4
TAP_WORKERS = 16
HERE = Path(__file__).parent


#: The parent stream of each child stream measured.
PARENTS = {children.stream: parent for parent, children in CHILDREN.items()}


def limited_sandbox(customers: int, retry_after: int, **options: Any) -> SandboxProcess:
    return SandboxProcess(
        customers=customers,
        latency_ms=5,
        max_concurrent=LIMIT,
        limit_retry_after=retry_after,
        **options,
    )


def limited(sandbox: SandboxProcess) -> tuple[int, int]:
    """(429 answers, all answers) since the last reset."""
    responses: dict[str, Any] = sandbox.stats()["responses"]
    return responses.get("429", 0), sum(responses.values())


#: One side of a run: its name, wall seconds and 429 answers.
Side = tuple[str, float, int]


def print_run(plain: Side, plugin: Side, plugin_requests: int) -> None:
    """One run's line: each side's time and 429s (the plugin's of all its requests)."""
    (plain_name, plain_s, plain_429), (plugin_name, plugin_s, plugin_429) = plain, plugin
    print(
        f"{plain_name}, {LIMIT} threads: {plain_s:.2f} s ({plain_429} x 429)   "
        f"{plugin_name}, max_workers={TAP_WORKERS}: {plugin_s:.2f} s "
        f"({plugin_429} x 429 of {plugin_requests} requests)",
        flush=True,
    )


def print_start_up(work: Path, repeat: int) -> None:
    """Best wall time of each side on an empty input: the fixed cost in the times below.

    Measured at about 1.0 s against 0.3 s (mostly importing singer-sdk), so most of what
    separates the target from the plain script at 2,000 creates is start-up, not writes.
    """
    empty = work / "empty.jsonl"
    empty.write_text("")
    config = work / "config-empty.json"
    plain = [sys.executable, str(HERE / "target_plain.py"), "read", str(empty)]
    target = [TARGET, "--config", str(config), "--input", str(empty)]
    with limited_sandbox(0, 1) as sandbox:
        settings = sandbox.config(
            rejects_path=str(work / "rejects-empty.jsonl"),
            id_map_path=str(work / "id-map-empty.sqlite3"),
        )
        config.write_text(json.dumps(settings))
        plain_s = min(measure(plain)[0] for _ in range(repeat))
        target_s = min(measure(target)[0] for _ in range(repeat))
    print(
        f"start-up (empty input): plain {plain_s:.2f} s   target-recras {target_s:.2f} s",
        flush=True,
    )


def bench_target(work: Path, count: int, retry_after: int, repeat: int) -> tuple[float, float]:
    """Creates of ``count`` customers: best plain time, best target time (printed per run)."""
    bodies = write_bodies_file(work / "bodies.jsonl", count)
    singer = write_singer_file(work / "upserts.singer", count)
    print_start_up(work, repeat)
    plain_times, target_times, shares = [], [], []
    for run in range(repeat):
        with limited_sandbox(0, retry_after) as sandbox:
            command = [sys.executable, str(HERE / "target_plain.py"), "post", sandbox.base_url]
            plain_times.append(measure([*command, sandbox.api_key, str(bodies), str(LIMIT)])[0])
            plain_limited, _ = limited(sandbox)
        with limited_sandbox(0, retry_after) as sandbox:
            config = sandbox.config(
                max_workers=TAP_WORKERS,
                rejects_path=str(work / f"rejects-{run}.jsonl"),
                id_map_path=str(work / f"id-map-{run}.sqlite3"),
            )
            config_path = work / f"config-{run}.json"
            config_path.write_text(json.dumps(config))
            target_times.append(
                measure([TARGET, "--config", str(config_path), "--input", str(singer)])[0]
            )
            count_429, answers = limited(sandbox)
            shares.append(count_429 / answers)
            if sandbox.stats()["customers"] != count:
                raise SystemExit(f"target-recras did not create all {count} customers")
        print_run(
            ("plain post", plain_times[-1], plain_limited),
            ("target-recras", target_times[-1], count_429),
            answers,
        )
    return min(target_times) / min(plain_times), max(shares)


def bench_tap(sandbox: SandboxProcess, work: Path, child: str, repeat: int) -> tuple[float, float]:
    """``child`` read with its parent: the best times' ratio and the largest 429 share."""
    parent = PARENTS[child]
    plain_args = [*PLAIN, sandbox.base_url, sandbox.api_key, "--stream", parent]
    plain_args += ["--details", str(LIMIT)]
    persons = parent == "klanten"
    tap = tap_args(work, sandbox, persons=persons, workers=TAP_WORKERS, streams=(parent, child))
    plain_times, tap_times, shares = [], [], []
    for _ in range(repeat):
        sandbox.reset_stats()
        plain_times.append(measure(plain_args)[0])
        plain_limited, _ = limited(sandbox)
        sandbox.reset_stats()
        tap_times.append(measure(tap)[0])
        count_429, answers = limited(sandbox)
        shares.append(count_429 / answers)
        print_run(
            ("plain", plain_times[-1], plain_limited),
            ("tap-recras", tap_times[-1], count_429),
            answers,
        )
    return min(tap_times) / min(plain_times), max(shares)


def main() -> None:
    """Measure both sides against the same limited sandbox and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best time kept)")
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--bookings", type=int, default=2_000)
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of the 429s")
    parser.add_argument(
        "--only",
        action="append",
        choices=[*PARENTS, "target"],
        help="measure only this child stream, or the target (repeatable)",
    )
    options = parser.parse_args()
    repeat = max(options.repeat, 1)
    only = set(options.only or [*PARENTS, "target"])
    children = [child for child in PARENTS if child in only]
    tap_results: dict[str, tuple[float, float]] = {}
    if children:
        with (
            limited_sandbox(
                options.customers,
                options.retry_after,
                bookings=options.bookings,
                booking_lines="detail",
            ) as sandbox,
            tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp,
        ):
            for child in children:
                print(f"== tap-recras: {child}", flush=True)
                tap_results[child] = bench_tap(sandbox, Path(tmp), child, repeat)
    if "target" in only:
        print("== target-recras: creates", flush=True)
        with tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp:
            target_ratio, target_share = bench_target(
                Path(tmp), options.customers, options.retry_after, repeat
            )
    where = f"{options.customers:,} customers, {options.bookings:,} bookings, limit {LIMIT} per key"
    where += f", Retry-After {options.retry_after} s"
    print(f"\n== Ratios ({where})")
    for child, (ratio, share) in tap_results.items():
        print(
            f"tap, {child}: tap/plain = {ratio:.2f}x (<= 1.3), "
            f"429 on at most {share:.1%} of requests per run (<= 5%)"
        )
    if "target" in only:
        print(
            f"target: target/plain = {target_ratio:.2f}x (<= 1.3), "
            f"429 on at most {target_share:.1%} of requests per run (<= 5%)"
        )


if __name__ == "__main__":
    main()
