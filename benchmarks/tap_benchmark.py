"""tap-recras against its lower bounds, measured in one run; prints ratios.

Three measurements, each against a fresh ``recras-sandbox`` process on 127.0.0.1 (started
and seeded before the clock starts, so the server is not what is measured):

1. ``klanten`` alone, 100,000 customers: wall time of ``tap-recras`` / wall time of
   ``tap_plain.py`` (``requests`` + ``json``, same RECORD lines). Target: <= 1.5. And
   against ``tap_plain.py --msgspec`` (``requests`` + ``msgspec``, the tighter bound).
   Target: <= 1.5 (stretch 1.2).
2. Memory: peak RSS of ``tap-recras`` listing 1,000,000 customers. Target: < 150 MiB.
   The plain script's peak RSS at 100,000 is printed for comparison.
3. Contact persons for 2,000 customers, 5 ms added latency per request: ``tap-recras``
   with ``max_workers=8`` / ``tap_plain.py --details 8``. Target: <= 1.3.
4. ``boekingen`` alone (FULL_TABLE, lines nested in the list items), 100,000 bookings, unpaged
   and paged (100 a page: 1,000 pages): ``tap-recras`` / ``tap_plain.py --stream boekingen
   --msgspec`` (which follows ``Link: rel="next"`` too). Target: <= 1.2 each.

Each wall time is the best of ``--repeat`` runs (default 3), both sides alike, taking turns
within each round (plain, then tap); output goes to /dev/null. Nothing here is asserted:
the ratios are printed for people to read.

Usage: ``.venv/bin/python benchmarks/tap_benchmark.py [--quick] [--repeat N] [--only NAME]``
(``--quick`` divides every size by 10, for a smoke run; ``--only`` runs one of ``klanten``,
``memory``, ``details``, ``boekingen``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import make_catalog, tap_command, write_inputs

PLAIN = [sys.executable, str(Path(__file__).with_name("tap_plain.py"))]
#: Both sides run with their normal stdout buffering, whatever this shell sets.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
#: Every child process is bounded: a hung run fails the benchmark instead of hanging it.
RUN_TIMEOUT_S = 900
#: How long the 1,000,000-customer and the 100,000-booking sandboxes may take to start (they
#: generate them first: 200 to 250 s for the bookings at a load average of 15 to 20).
SANDBOX_START_S = 600.0


def measure(args: list[str]) -> tuple[float, float]:
    """Run ``args`` with stdout to /dev/null; return (wall seconds, peak RSS MiB)."""
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(args, stdout=devnull, stderr=errors, env=CHILD_ENV)
        deadline = started + RUN_TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                raise RuntimeError(f"{args[0]} took longer than {RUN_TIMEOUT_S} s")
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{args} exited with {process.returncode}:\n{tail}")
    # ru_maxrss is in KiB on Linux.
    return elapsed, usage.ru_maxrss / 1024


def best_of_alternated(repeat: int, *commands: list[str]) -> list[float]:
    """The fastest of ``repeat`` rounds for each command (noise only ever adds time).

    Taking turns within each round means a burst of load from other processes slows the
    sides alike, instead of whichever happened to run during it (the ratio is what counts).
    """
    times = [[measure(args)[0] for args in commands] for _ in range(repeat)]
    return [min(column) for column in zip(*times, strict=True)]


def tap_args(
    workdir: Path,
    sandbox: SandboxProcess,
    *,
    persons: bool,
    workers: int,
    streams: tuple[str, ...] = ("klanten",),
) -> list[str]:
    """The tap's command line: ``streams`` (klanten, with contact persons or not).

    Invoices are read FULL_TABLE, as ``tap_plain.py`` reads them: every invoice, no query.
    """
    config = sandbox.config(max_workers=workers)
    catalog = make_catalog(
        config, nested=persons, persons=persons, streams=streams, methods={"facturen": "FULL_TABLE"}
    )
    return [*tap_command(), *write_inputs(workdir, config, catalog)]


def section(title: str, run: Callable[[Path], None]) -> None:
    """Print a heading and run one measurement in its own scratch directory."""
    print(f"\n== {title}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tap-bench-") as tmp:
        run(Path(tmp))


def main() -> None:
    """Run the three measurements and print their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes / 10 (smoke run)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per wall time (best kept)")
    parser.add_argument(
        "--only",
        choices=["klanten", "memory", "details", "boekingen"],
        help="run one measurement only",
    )
    options = parser.parse_args()
    scale = 10 if options.quick else 1
    repeat = max(options.repeat, 1)
    results: list[str] = []

    def throughput(workdir: Path) -> None:
        count = 100_000 // scale
        with SandboxProcess(customers=count) as sandbox:
            plain, fast, tap = best_of_alternated(
                repeat,
                [*PLAIN, sandbox.base_url, sandbox.api_key],
                [*PLAIN, sandbox.base_url, sandbox.api_key, "--msgspec"],
                tap_args(workdir, sandbox, persons=False, workers=4),
            )
        print(
            f"plain requests+json: {plain:.2f} s   plain requests+msgspec: {fast:.2f} s   "
            f"tap-recras: {tap:.2f} s"
        )
        results.append(f"klanten, {count:,} customers: tap/plain = {tap / plain:.2f}x (<= 1.5)")
        results.append(
            f"klanten, {count:,} customers: tap/plain msgspec = {tap / fast:.2f}x "
            "(<= 1.5, stretch 1.2)"
        )

    def memory(workdir: Path) -> None:
        count = 1_000_000 // scale
        with SandboxProcess(customers=count // 10) as sandbox:
            _, plain_rss = measure([*PLAIN, sandbox.base_url, sandbox.api_key])
        # Generating a million customers outlasts the default start-up wait on a busy machine.
        with SandboxProcess(customers=count, start_timeout=SANDBOX_START_S) as sandbox:
            seconds, rss = measure(tap_args(workdir, sandbox, persons=False, workers=4))
        print(f"plain at {count // 10:,}: {plain_rss:.0f} MiB   tap at {count:,}: {rss:.0f} MiB")
        print(f"tap-recras listed {count:,} customers in {seconds:.1f} s")
        results.append(f"peak RSS, {count:,} customers: {rss:.0f} MiB (< 150 MiB)")

    def details(workdir: Path) -> None:
        count = 2_000 // scale
        with SandboxProcess(customers=count, latency_ms=5) as sandbox:
            plain, tap = best_of_alternated(
                repeat,
                [*PLAIN, sandbox.base_url, sandbox.api_key, "--details", "8"],
                tap_args(workdir, sandbox, persons=True, workers=8),
            )
        print(f"plain, 8 threads: {plain:.2f} s   tap-recras, max_workers=8: {tap:.2f} s")
        results.append(
            f"contact persons, {count:,} customers, 5 ms latency: "
            f"tap/plain = {tap / plain:.2f}x (<= 1.3)"
        )

    def bookings(workdir: Path) -> None:
        count = 100_000 // scale
        for paging, page_size in (("unpaged", 0), ("paged", 100)):
            with SandboxProcess(
                bookings=count, page_size=page_size, start_timeout=SANDBOX_START_S
            ) as sandbox:
                plain, tap = best_of_alternated(
                    repeat,
                    [
                        *PLAIN,
                        sandbox.base_url,
                        sandbox.api_key,
                        "--stream",
                        "boekingen",
                        "--msgspec",
                    ],
                    tap_args(workdir, sandbox, persons=False, workers=4, streams=("boekingen",)),
                )
                requests = sum(sandbox.stats()["requests"].values()) // (2 * repeat)
            print(
                f"{paging} ({requests:,} requests a run): plain requests+msgspec: {plain:.2f} s   "
                f"tap-recras: {tap:.2f} s",
                flush=True,
            )
            results.append(
                f"boekingen, {count:,} bookings, {paging}: tap/plain msgspec = "
                f"{tap / plain:.2f}x (<= 1.2)"
            )

    measurements = {
        "klanten": ("1. klanten alone: wall time", throughput),
        "memory": ("2. memory: peak RSS", memory),
        "details": ("3. contact persons: wall time", details),
        "boekingen": ("4. boekingen alone, unpaged and paged: wall time", bookings),
    }
    for name, (title, run) in measurements.items():
        if options.only in {None, name}:
            section(title, run)
    print("\n== Ratios")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
