"""Start-up: how long tap-recras and target-recras take before they do any work.

    .venv/bin/python benchmarks/startup_benchmark.py [--rounds 15]

Runs, alternated in each round, ``tap_plain.py --help`` (the plain scripts' imports: requests,
msgspec), ``tap-recras --about`` and ``target-recras --about`` as installed, and the same two
plugins started without their console script's start (``TapRecras.cli()`` called directly,
so the collector runs while singer-sdk loads; see recras_api/plugin/startup.py). Prints the median
and best wall time of each. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
COMMANDS = {
    "plain scripts' imports": [sys.executable, str(Path(__file__).with_name("tap_plain.py")), "-h"],
    "tap-recras --about": [str(BIN / "tap-recras"), "--about"],
    "target-recras --about": [str(BIN / "target-recras"), "--about"],
    "tap, collector on while loading": [
        sys.executable,
        "-c",
        "from tap_recras.tap import TapRecras; TapRecras.cli()",
        "--about",
    ],
    "target, collector on while loading": [
        sys.executable,
        "-c",
        "from target_recras.target import TargetRecras; TargetRecras.cli()",
        "--about",
    ],
}


def wall_time(args: list[str]) -> float:
    """Seconds one run of ``args`` takes (output discarded; a failure stops the benchmark)."""
    started = time.perf_counter()
    subprocess.run(args, env=CHILD_ENV, stdout=subprocess.DEVNULL, check=True, timeout=120)
    return time.perf_counter() - started


def main() -> None:
    """Alternate the commands for ``--rounds`` rounds and print their times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = max(parser.parse_args().rounds, 1)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, args in COMMANDS.items():
            times[name].append(wall_time(args))
    for name, measured in times.items():
        print(f"{name:36s} median {statistics.median(measured):.3f} s   best {min(measured):.3f} s")


if __name__ == "__main__":
    main()
