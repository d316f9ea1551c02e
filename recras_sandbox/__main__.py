"""Command line: ``recras-sandbox [options]`` (also ``python -m recras_sandbox``).

Prints exactly one line, ``recras-sandbox listening on http://127.0.0.1:<port>``, to
stdout once the socket accepts connections, and runs until SIGTERM or SIGINT.
Diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from recras_sandbox import readings
from recras_sandbox.faults import FaultInjector
from recras_sandbox.server import SandboxConfig, SandboxServer
from recras_sandbox.store import Store

#: The sandbox only ever listens on loopback.
_LOOPBACK = ("127.0.0.1", "localhost")


def _log(message: str) -> None:
    """Diagnostics go to stderr; stdout carries only the listening line."""
    sys.stderr.write(f"recras-sandbox: {message}\n")
    sys.stderr.flush()


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


#: The --help line of each reading flag (readings.CHOICES names the flags and their choices).
_READING_HELP = {
    "merge": "POST merges on equal name + main e-mail (name-email) or always creates (never)",
    "put_extra_fields": "a PUT's extra_fields merge by name or replace the list",
    "id_min": "id>=N keeps ids >= N (inclusive) or > N (exclusive)",
    "linked_person_fields": "fields sent with a linked contact person id: apply or ignore",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (flags documented in docs/sandbox.md)."""
    parser = argparse.ArgumentParser(
        prog="recras-sandbox", description="A local Recras API2 server for tests and benchmarks."
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    add("--port", type=_non_negative, default=0, help="port; 0 picks a free one (default)")
    add("--port-file", help="write the chosen port to this file once listening")
    add("--customers", type=_non_negative, default=200, help="customers to seed (default 200)")
    add("--seed", type=int, default=1, help="random seed of the generated data (default 1)")
    add("--api-key", default=SandboxConfig.api_key, help="Bearer key with full access")
    add("--readonly-key", default=SandboxConfig.readonly_key, help="Bearer key without editContact")
    add("--username", default=SandboxConfig.username, help="HTTP Basic user name")
    add("--password", default=SandboxConfig.password, help="HTTP Basic password")
    add("--page-size", type=_non_negative, default=0, help="page the list; 0 = no paging")
    add("--shuffle", action="store_true", help="list customers in a seeded random order")
    add("--fault-rate", type=_fraction, default=0.0, help="fraction answered 429/503/dropped")
    add("--fault-seed", type=int, default=None, help="seed of the fault sequence")
    add("--retry-after", type=_non_negative, default=1, help="Retry-After seconds of a 429")
    add("--latency-ms", type=float, default=0.0, help="added latency per /api2 request")
    add("--invalid-json-rate", type=_fraction, default=0.0, help="fraction of 200s with bad JSON")
    add(
        "--max-concurrent",
        type=_non_negative,
        default=0,
        help="test mode: 429 above N /api2 requests in flight per key; 0 = no limit",
    )
    add(
        "--limit-retry-after",
        type=_non_negative,
        default=1,
        help="Retry-After seconds of a 429 from --max-concurrent (default 1)",
    )
    add("--db", help="SQLite file; data survives a restart (default: memory only)")
    # Readings of the points the docs leave open (docs/sandbox.md, choices).
    for name, choices in readings.CHOICES.items():
        add(
            f"--{name.replace('_', '-')}",
            choices=choices,
            default=choices[0],
            help=_READING_HELP[name],
        )
    add("--list-persons", action="store_true", help="list items include contactpersonen")
    return parser


def _write_port_file(path: str, port: int) -> None:
    """Write atomically, so a reader never sees an empty or partial file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=".port-")
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{port}\n")
    os.replace(tmp, target)


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until SIGTERM/SIGINT; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.host not in _LOOPBACK:
        _log(f"refusing to bind {args.host}: loopback only")
        return 2
    if args.latency_ms < 0:
        _log("--latency-ms must be >= 0")
        return 2

    started = time.perf_counter()
    store = Store(
        args.db,
        readings.Readings(
            merge=args.merge,
            put_extra_fields=args.put_extra_fields,
            id_min=args.id_min,
            linked_person_fields=args.linked_person_fields,
            list_persons=args.list_persons,
        ),
    )
    loaded = store.load_or_seed(args.customers, args.seed)
    customers, persons = store.counts()
    source = f"loaded from {args.db}" if loaded else "generated"
    _log(
        f"{customers} customers, {persons} contact persons {source} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    faults = FaultInjector(
        fault_rate=args.fault_rate,
        invalid_json_rate=args.invalid_json_rate,
        latency_ms=args.latency_ms,
        retry_after=args.retry_after,
        seed=args.fault_seed,
    )
    config = SandboxConfig(
        api_key=args.api_key,
        readonly_key=args.readonly_key,
        username=args.username,
        password=args.password,
        page_size=args.page_size,
        shuffle=args.shuffle,
        seed=args.seed,
        max_concurrent=args.max_concurrent,
        limit_retry_after=args.limit_retry_after,
    )
    host = "127.0.0.1" if args.host == "localhost" else args.host
    server = SandboxServer((host, args.port), store, faults, config)
    port = server.server_address[1]

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so call it off this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        _write_port_file(args.port_file, port)
    sys.stdout.write(f"recras-sandbox listening on http://{host}:{port}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        store.close()
    _log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
