"""tap-recras against a server that limits concurrency (issue 13 item 2), in one run.

A fresh ``recras-sandbox`` with ``--max-concurrent 4`` (429 with ``Retry-After: 1`` above 4
``/api2`` requests in flight per key) and 5 ms added latency serves 2,000 customers. The
plain script that knows the limit (``tap_plain.py --details 4``) is the bound; ``tap-recras``
runs with ``max_workers`` 16 and has to find the limit itself (``recras_api.concurrency``).
Printed: the wall times (best of ``--repeat``, both sides alike), their ratio (goal <= 1.3)
and the share of the tap's requests answered 429 in each run (goal <= 5%). Nothing is
asserted: the numbers depend on the machine and its load.

Usage: ``.venv/bin/python benchmarks/concurrency_benchmark.py [--repeat N] [--customers N]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tap_benchmark import PLAIN, measure, tap_args

from recras_sandbox.testing import SandboxProcess

#: The server's limit, which the plain script is told and the tap is not.
LIMIT = 4
TAP_WORKERS = 16


def main() -> None:
    """Measure both sides against the same limited sandbox and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best time kept)")
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of the 429s")
    options = parser.parse_args()
    with (
        SandboxProcess(
            customers=options.customers,
            latency_ms=5,
            max_concurrent=LIMIT,
            limit_retry_after=options.retry_after,
        ) as sandbox,
        tempfile.TemporaryDirectory(prefix="concurrency-bench-") as tmp,
    ):
        plain_args = [*PLAIN, sandbox.base_url, sandbox.api_key, "--details", str(LIMIT)]
        tap = tap_args(Path(tmp), sandbox, persons=True, workers=TAP_WORKERS)
        plain_times, tap_times, shares = [], [], []
        for _ in range(max(options.repeat, 1)):
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
    plain, best = min(plain_times), min(tap_times)
    print(f"\n== {options.customers:,} customers, limit {LIMIT} per key, Retry-After 1 s")
    print(f"tap/plain = {best / plain:.2f}x (<= 1.3)")
    print(f"429 share of the tap's requests: at most {max(shares):.1%} per run (<= 5%)")


if __name__ == "__main__":
    main()
