"""tap-recras and target-recras against a server that limits concurrency (issue 13 item 2).

A ``recras-sandbox`` with ``--max-concurrent 4`` (429 with ``Retry-After: 1`` above 4
``/api2`` requests in flight per key) and 5 ms added latency. The plain scripts that know the
limit, with 4 threads, are the bounds: ``tap_plain.py --details 4`` reading the contact
persons of 2,000 customers, and ``target_plain.py post`` creating 2,000 customers (a fresh,
empty sandbox per run). The plugins run with ``max_workers`` 16 and have to find the limit
themselves (``recras_api.concurrency``). Printed per run: the wall times and the 429 answers;
then the ratio of the best times (goal <= 1.3) and the largest share of a plugin's requests
answered 429 in any run (goal <= 5%). Nothing is asserted: the numbers depend on the machine
and its load.

Usage: ``.venv/bin/python benchmarks/concurrency_benchmark.py [--repeat N] [--customers N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tap_benchmark import PLAIN, measure, tap_args
from target_benchmark import TARGET
from target_data import write_bodies_file, write_singer_file

from recras_sandbox.testing import SandboxProcess

#: The server's limit, which the plain script is told and the tap is not.
LIMIT = 4
TAP_WORKERS = 16
HERE = Path(__file__).parent


def limited_sandbox(customers: int, retry_after: int) -> SandboxProcess:
    return SandboxProcess(
        customers=customers, latency_ms=5, max_concurrent=LIMIT, limit_retry_after=retry_after
    )


def limited(sandbox: SandboxProcess) -> tuple[int, int]:
    """(429 answers, all answers) since the last reset."""
    responses: dict[str, Any] = sandbox.stats()["responses"]
    return responses.get("429", 0), sum(responses.values())


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
        print(
            f"plain post, {LIMIT} threads: {plain_times[-1]:.2f} s ({plain_limited} x 429)   "
            f"target-recras, max_workers={TAP_WORKERS}: {target_times[-1]:.2f} s "
            f"({count_429} x 429 of {answers} requests)",
            flush=True,
        )
    return min(target_times) / min(plain_times), max(shares)


def main() -> None:
    """Measure both sides against the same limited sandbox and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best time kept)")
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of the 429s")
    options = parser.parse_args()
    repeat = max(options.repeat, 1)
    print("== tap-recras: contact persons", flush=True)
    with (
        limited_sandbox(options.customers, options.retry_after) as sandbox,
        tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp,
    ):
        plain_args = [*PLAIN, sandbox.base_url, sandbox.api_key, "--details", str(LIMIT)]
        tap = tap_args(Path(tmp), sandbox, persons=True, workers=TAP_WORKERS)
        plain_times, tap_times, shares = [], [], []
        for _ in range(repeat):
            sandbox.reset_stats()
            plain_times.append(measure(plain_args)[0])
            plain_limited = sandbox.stats()["responses"].get("429", 0)
            sandbox.reset_stats()
            tap_times.append(measure(tap)[0])
            responses = sandbox.stats()["responses"]
            shares.append(responses.get("429", 0) / sum(responses.values()))
            print(
                f"plain, {LIMIT} threads: {plain_times[-1]:.2f} s ({plain_limited} x 429)   "
                f"tap-recras, max_workers={TAP_WORKERS}: {tap_times[-1]:.2f} s "
                f"({responses.get('429', 0)} x 429 of {sum(responses.values())} requests)",
                flush=True,
            )
    print("== target-recras: creates", flush=True)
    with tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp:
        target_ratio, target_share = bench_target(
            Path(tmp), options.customers, options.retry_after, repeat
        )
    where = f"{options.customers:,} customers, limit {LIMIT} per key"
    where += f", Retry-After {options.retry_after} s"
    print(f"\n== Ratios ({where})")
    print(
        f"tap:    tap/plain = {min(tap_times) / min(plain_times):.2f}x (<= 1.3), "
        f"429 on at most {max(shares):.1%} of requests per run (<= 5%)"
    )
    print(
        f"target: target/plain = {target_ratio:.2f}x (<= 1.3), "
        f"429 on at most {target_share:.1%} of requests per run (<= 5%)"
    )


if __name__ == "__main__":
    main()
