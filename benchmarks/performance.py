"""Issue 13's goals in one run: each benchmark it names, then every figure beside its bound.

Runs, one after the other (each starts its own sandboxes on 127.0.0.1 and stops by itself):

- ``tap_benchmark.py --only klanten``: the customer list against plain requests + json and
  requests + msgspec scripts;
- ``concurrency_benchmark.py``: the tap's details and the target's creates against a sandbox
  that limits concurrency, beside plain scripts that know the limit;
- ``reverse_etl_benchmark.py``: the requests of a full export rerun in which few records changed.

Their own output streams through as it comes. At the end, the lines in which a benchmark put a
figure beside its bound (``... (<= 1.5)``) are printed again together, so one run shows every
goal of the issue. Nothing is asserted: the figures depend on the machine and its load.

    .venv/bin/python benchmarks/performance.py            # about 6 minutes on 2 cores
    .venv/bin/python benchmarks/performance.py --repeat 1 # a quicker, noisier run
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# A figure beside its bound, as every benchmark here prints it: "1.15x (<= 1.3)", "20 (<= 25)".
BESIDE_BOUND = re.compile(r"\((<=|<|>=|>) [\d.,]+")


def _benchmarks(repeat: int) -> list[list[str]]:
    return [
        ["tap_benchmark.py", "--only", "klanten", "--repeat", str(repeat)],
        ["concurrency_benchmark.py", "--repeat", str(repeat)],
        ["reverse_etl_benchmark.py"],
    ]


def _run(args: list[str]) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output; its exit status and the lines beside a bound."""
    print(f"\n#### {' '.join(args)}", flush=True)
    beside_bound: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(HERE / args[0]), *args[1:]],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if BESIDE_BOUND.search(line):
                beside_bound.append(line.rstrip())
    return proc.returncode, beside_bound


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per wall time (best kept)")
    options = parser.parse_args()
    started = time.monotonic()
    summary: list[str] = []
    failed: list[str] = []
    for args in _benchmarks(options.repeat):
        status, lines = _run(args)
        summary.append(f"{args[0]}:")
        summary.extend(f"  {line.strip()}" for line in lines)
        if status != 0:
            failed.append(f"{args[0]} exited {status}")
    print(f"\n#### Issue 13's figures beside their bounds ({time.monotonic() - started:.0f} s)")
    print("\n".join(summary))
    for failure in failed:
        print(f"FAILED: {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
