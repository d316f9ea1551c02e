"""Measure the sandbox itself: ``python -m recras_sandbox.bench [--customers N] [--bookings N]``.

Starts a real sandbox, then times the full list GET and keep-alive detail GETs on one
connection, and reports the server's peak memory. With ``--bookings N`` it measures the
bookings instead: the start (seeding N bookings with their invoices, lines and payments),
the full ``/api2/boekingen`` GET, and a walk of every page of 100. Used for the numbers in
docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

from recras_sandbox.testing import SandboxProcess


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the measurements; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m recras_sandbox.bench")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--list-runs", type=int, default=3)
    parser.add_argument("--detail-requests", type=int, default=1000)
    parser.add_argument("--bookings", type=int, default=0, help="measure N bookings instead")
    args = parser.parse_args(argv)
    if args.bookings > 0:
        _measure_bookings(args.customers, args.bookings, args.list_runs)
        return 0

    started = time.perf_counter()
    with SandboxProcess(customers=args.customers) as sandbox:
        _out(
            f"sandbox with {args.customers} customers ready in {time.perf_counter() - started:.2f}s"
        )
        conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=300)
        headers = {"Authorization": f"Bearer {sandbox.api_key}"}
        body = b""
        for run in range(args.list_runs):
            begin = time.perf_counter()
            conn.request("GET", "/api2/klanten", headers=headers)
            body = conn.getresponse().read()
            elapsed = time.perf_counter() - begin
            _out(f"list GET run {run + 1}: {elapsed:.3f}s for {len(body) / 1e6:.1f} MB")
        ids = [item["id"] for item in json.loads(body)[: args.detail_requests]]
        del body
        latencies = []
        for customer_id in ids:
            begin = time.perf_counter()
            conn.request("GET", f"/api2/klanten/{customer_id}", headers=headers)
            conn.getresponse().read()
            latencies.append(time.perf_counter() - begin)
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95)]
        _out(
            f"keep-alive detail GET ({len(latencies)} on one connection): "
            f"median {statistics.median(latencies) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"
        )
        peak = _peak_rss_mb(sandbox.pid)
        if peak is not None:
            _out(f"sandbox peak RSS: {peak:.0f} MB")
        conn.close()
    return 0


def _measure_bookings(customers: int, bookings: int, list_runs: int) -> None:
    """Start, full list GETs and a paged walk of ``bookings`` bookings."""
    for page_size in (0, 100):
        started = time.perf_counter()
        # A loaded machine may seed far slower than SandboxProcess's bound assumes.
        with SandboxProcess(
            customers=customers, bookings=bookings, page_size=page_size, start_timeout=900
        ) as sandbox:
            elapsed = time.perf_counter() - started
            counts = sandbox.stats()
            _out(
                f"sandbox with {customers} customers, {counts['boekingen']} bookings, "
                f"{counts['facturen']} invoices, {counts['factuurregels']} invoice lines, "
                f"{counts['betalingen']} payments (page_size {page_size}) ready in {elapsed:.2f}s"
            )
            conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=300)
            headers = {"Authorization": f"Bearer {sandbox.api_key}"}
            if page_size == 0:
                for run in range(list_runs):
                    begin = time.perf_counter()
                    conn.request("GET", "/api2/boekingen", headers=headers)
                    body = conn.getresponse().read()
                    elapsed = time.perf_counter() - begin
                    _out(
                        f"boekingen GET run {run + 1}: {elapsed:.3f}s for {len(body) / 1e6:.1f} MB"
                    )
            else:
                _walk_pages(conn, headers, -(-counts["boekingen"] // page_size))
            peak = _peak_rss_mb(sandbox.pid)
            if peak is not None:
                _out(f"sandbox peak RSS: {peak:.0f} MB")
            conn.close()


def _walk_pages(conn: http.client.HTTPConnection, headers: dict[str, str], pages: int) -> None:
    """GET every page of the bookings on one keep-alive connection."""
    latencies = []
    size = 0
    begin = time.perf_counter()
    for page in range(1, pages + 1):
        started = time.perf_counter()
        conn.request("GET", f"/api2/boekingen?page={page}", headers=headers)
        size += len(conn.getresponse().read())
        latencies.append(time.perf_counter() - started)
    total = time.perf_counter() - begin
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    _out(
        f"boekingen paged walk: {pages} pages of 100 in {total:.3f}s for {size / 1e6:.1f} MB, "
        f"median {statistics.median(latencies) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms a page"
    )


if __name__ == "__main__":
    sys.exit(main())
