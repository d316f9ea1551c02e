"""Command line: ``recras-sandbox [options]`` (also ``python -m recras_sandbox``).

Prints two lines to stdout once the socket accepts connections: ``recras-sandbox listening
on http://127.0.0.1:<port>``, then the settings a connector needs to reach it, as shell
variables (``export RECRAS_BASE_URL=http://127.0.0.1:<port> RECRAS_API_KEY=sandbox-key``: the
key is the sandbox's own, not a secret). Runs until SIGTERM or SIGINT. Diagnostics go to
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from recras_sandbox.faults import FaultInjector
from recras_sandbox.options import SandboxOptions, add_flags
from recras_sandbox.resources.ledger import Ledger
from recras_sandbox.server import SandboxServer
from recras_sandbox.store import Store

#: The sandbox only ever listens on loopback.
_LOOPBACK = ("127.0.0.1", "localhost")


def _log(message: str) -> None:
    """Diagnostics go to stderr; stdout carries only the start message."""
    sys.stderr.write(f"recras-sandbox: {message}\n")
    sys.stderr.flush()


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {text}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: where to listen, then one flag per sandbox option (docs/sandbox.md)."""
    parser = argparse.ArgumentParser(
        prog="recras-sandbox", description="A local Recras API2 server for tests and benchmarks."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--port-file", help="write the chosen port to this file once listening")
    add_flags(parser)
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
    options = SandboxOptions.from_flags(args)
    host = "127.0.0.1" if args.host == "localhost" else args.host
    with contextlib.ExitStack() as resources:
        started = time.perf_counter()
        store = resources.enter_context(contextlib.closing(Store.open(options)))
        loaded = store.load_or_seed(options.customers, options.seed)
        customers, persons = store.counts()
        source = f"loaded from {options.db}" if loaded else "generated"
        _log(
            f"{customers} customers, {persons} contact persons {source} "
            f"in {time.perf_counter() - started:.1f}s"
        )
        started = time.perf_counter()
        ledger = resources.enter_context(contextlib.closing(Ledger.open(options, store)))
        loaded = ledger.load_or_seed(options.bookings, options.seed)
        counts = ledger.counts()
        source = f"loaded from {options.db}" if loaded else "generated"
        _log(
            f"{counts['boekingen']} bookings, {counts['facturen']} invoices and the other "
            f"resources {source} in {time.perf_counter() - started:.1f}s"
        )
        server = resources.enter_context(
            SandboxServer((host, args.port), store, ledger, FaultInjector(options), options)
        )
        serve(server, host, args.port_file)
    _log("stopped")
    return 0


def start_message(base_url: str, api_key: str) -> str:
    """Where the sandbox listens, and the settings to reach it as shell variables.

    ``RECRAS_BASE_URL`` and ``RECRAS_API_KEY`` are what the project's meltano.yml and the
    README's examples read; a key given with ``--api-key`` is quoted for the shell.
    """
    settings = f"RECRAS_BASE_URL={shlex.quote(base_url)} RECRAS_API_KEY={shlex.quote(api_key)}"
    return f"recras-sandbox listening on {base_url}\nexport {settings}\n"


def serve(server: SandboxServer, host: str, port_file: str | None) -> None:
    """Announce the port and the key, then serve until SIGTERM or SIGINT."""
    port = server.server_address[1]

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so call it off this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if port_file:
        _write_port_file(port_file, port)
    sys.stdout.write(start_message(f"http://{host}:{port}", server.options.api_key))
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    sys.exit(main())
