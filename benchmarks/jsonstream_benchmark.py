"""Parsing the customer list: recras_api.jsonstream against json.loads and ijson, in one run.

Fetches ``GET /api2/klanten`` of ``--customers`` customers (default 100,000) once from a
fresh ``recras-sandbox`` on 127.0.0.1, then parses that body in this process, cut into the
64 KiB pieces the client reads, with each parser, and prints the best of ``--repeat`` times
and each parser's ratio to ``json.loads`` of the whole body (the floor: no streaming, the
whole list in memory). Every parser must yield the same items. ijson is measured when it is
importable (``ijson.items(..., "item", use_float=True)``, and which backend it used).

Then the hostile case the client must survive: a list whose one item is ``depth`` arrays
deep (a body of ``2 * depth`` bytes), parsed by each streaming parser in a child process
(capped at :data:`CHILD_MEMORY_BYTES` of address space), printing its time, peak RSS and
outcome.

Usage: ``.venv/bin/python benchmarks/jsonstream_benchmark.py [--customers N] [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import requests

from recras_api.jsonstream import iter_json_array
from recras_api.transport.bodies import STREAM_CHUNK_BYTES
from recras_sandbox.testing import SandboxProcess

#: Address space each nesting child may use; a parser that needs more fails there, not here.
CHILD_MEMORY_BYTES = 4 * 1024**3
NESTING_DEPTHS = (1_000, 20_000, 100_000)
#: A child process: parse ``[[[...]]]`` (argv[2] deep) as a list with parser argv[1].
NESTING_CHILD = """
import io, sys, time
kind, depth = sys.argv[1], int(sys.argv[2])
body = b"[" + b"[" * depth + b"]" * depth + b"]"
started = time.perf_counter()
try:
    if kind == "ijson":
        import ijson
        outcome = f"parsed {len(list(ijson.items(io.BytesIO(body), 'item')))} item"
    else:
        from recras_api.jsonstream import iter_json_array
        outcome = f"parsed {len(list(iter_json_array([body])))} item"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:60]}"
seconds = time.perf_counter() - started
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) // 1024  # this process's peak RSS (ru_maxrss spans the fork)
print(f"{seconds:6.2f} s {peak:6d} MiB  {outcome}")
"""


def fetch_body(customers: int) -> bytes:
    """The list body a sandbox of ``customers`` customers sends."""
    with SandboxProcess(customers=customers) as sandbox:
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        response = requests.get(f"{sandbox.base_url}/api2/klanten", headers=headers, timeout=600)
        response.raise_for_status()
        return response.content


def pieces(body: bytes) -> Iterator[bytes]:
    """``body`` in the pieces the client hands its parser."""
    return (body[i : i + STREAM_CHUNK_BYTES] for i in range(0, len(body), STREAM_CHUNK_BYTES))


class ChunkReader:
    """A file-like view of a chunk iterator, as ijson reads it."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)

    def read(self, size: int = -1) -> bytes:
        """The next piece; ``b""`` at the end (and for ``read(0)``, ijson's type probe)."""
        return next(self._chunks, b"") if size else b""


def parsers() -> dict[str, Callable[[bytes], Iterable[Any]]]:
    """Each parser, by the name printed, as body -> items."""
    found: dict[str, Callable[[bytes], Iterable[Any]]] = {
        "json.loads, whole body": json.loads,
        "recras_api.jsonstream": lambda body: iter_json_array(pieces(body)),
    }
    try:
        import ijson  # noqa: PLC0415  (optional: measured only where it is installed)
    except ImportError:
        return found
    found[f"ijson.items ({ijson.backend})"] = lambda body: ijson.items(
        ChunkReader(pieces(body)), "item", use_float=True, buf_size=STREAM_CHUNK_BYTES
    )
    return found


def best_seconds(
    repeat: int, found: dict[str, Callable[[bytes], Iterable[Any]]], body: bytes
) -> dict[str, float]:
    """Each parser's fastest of ``repeat`` full parses, taken in turns (noise only adds)."""
    best = dict.fromkeys(found, float("inf"))
    for _ in range(repeat):
        for name, parse in found.items():
            started = time.perf_counter()
            for _item in parse(body):
                pass
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def limit_memory() -> None:
    """In the child: cap its address space at :data:`CHILD_MEMORY_BYTES`."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))


def nesting(kinds: list[str]) -> None:
    """Time and peak RSS of each streaming parser on one deeply nested item."""
    for depth in NESTING_DEPTHS:
        for kind in kinds:
            done = subprocess.run(
                [sys.executable, "-c", NESTING_CHILD, kind, str(depth)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
                preexec_fn=limit_memory,
            )
            result = done.stdout.strip() or f"exit {done.returncode}: {done.stderr[-80:]!r}"
            print(f"depth {depth:6,}  {kind:22} {result}")


def main() -> None:
    """Fetch once, check the parsers agree, time them, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    body = fetch_body(options.customers)
    print(f"GET /api2/klanten, {options.customers:,} customers: {len(body) / 1e6:.1f} MB")
    found = parsers()
    expected = json.loads(body)
    for name, parse in found.items():
        if list(parse(body)) != expected:
            raise SystemExit(f"{name} does not yield what json.loads does")
    best = best_seconds(options.repeat, found, body)
    floor = best["json.loads, whole body"]
    for name, seconds in best.items():
        print(f"{name:32} {seconds:6.2f} s   {seconds / floor:5.2f}x json.loads")
    print("\n== one list item nested DEPTH arrays deep (child processes)")
    nesting(["recras_api.jsonstream", *(["ijson"] if len(found) > 2 else [])])


if __name__ == "__main__":
    main()
