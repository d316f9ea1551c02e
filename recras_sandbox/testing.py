"""Start the real ``recras-sandbox`` executable for tests, benchmarks and demos.

Example::

    with SandboxProcess(customers=500, page_size=100) as sandbox:  # started here, stopped after
        config = sandbox.config()            # {"base_url": ..., "api_key": ...}
        ...
        print(sandbox.stats()["requests"])

Only the standard library is used, so this works wherever the package is installed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Self
from urllib.parse import urlencode

from recras_sandbox.options import SandboxOptions


def sandbox_command() -> list[str]:
    """The console script next to the running interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "recras-sandbox"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "recras_sandbox"]


class SandboxError(RuntimeError):
    """The sandbox process failed to start or an admin call failed."""


_NOT_STARTED = "the sandbox is not started: use `with SandboxProcess(...)` or its start()"


class SandboxProcess:
    """A ``recras-sandbox`` subprocess on a free loopback port; ``with`` or :meth:`start` starts it.

    The keywords are the fields of :class:`~recras_sandbox.options.SandboxOptions` (the CLI
    flags), checked here, before anything starts; an unknown one is a TypeError naming it.
    ``start_timeout`` bounds the wait for readiness (default 15 s, plus time for very large
    seeds); ``log_path`` receives the server's stderr (and stdout).
    """

    def __init__(
        self,
        *,
        log_path: str | os.PathLike[str] | None = None,
        start_timeout: float | None = None,
        **options: Any,
    ) -> None:
        self.options = SandboxOptions(**options)
        # The credentials a test authenticates with, as attributes (documented API).
        self.api_key = self.options.api_key
        self.readonly_key = self.options.readonly_key
        self.username = self.options.username
        self.password = self.options.password
        self.log_path = Path(log_path) if log_path else None
        if start_timeout is None:
            # Generation runs ~100k customers/s and ~5k bookings/s (with their invoices, lines
            # and payments: 100,000 bookings are 20 s of CPU); the bound leaves room for a
            # loaded machine, where 100,000 took 160 s. A fresh SQLite file also stores them.
            slowdown = 3 if self.options.db is not None else 1
            rows = self.options.customers / 40_000 + self.options.bookings / 500
            start_timeout = 15.0 + rows * slowdown
        self.start_timeout = start_timeout
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        # What start() opened (temporary directory, log, process), closed by stop() and kill().
        self._resources = contextlib.ExitStack()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start the server and wait until it listens; returns this sandbox.

        Raises SandboxError when it exits or is not ready in time (nothing is left running).
        """
        if self._proc is not None:
            raise SandboxError("this sandbox was already started; make a new SandboxProcess")
        with contextlib.ExitStack() as resources:
            workdir = Path(
                resources.enter_context(tempfile.TemporaryDirectory(prefix="recras-sandbox-"))
            )
            port_file = workdir / "port"
            self.log_path = self.log_path or workdir / "sandbox.log"
            self._log = resources.enter_context(self.log_path.open("ab"))
            command = [
                *sandbox_command(), "--port", "0", "--port-file", str(port_file),
                *self.options.to_argv(),
            ]  # fmt: skip
            self._proc = subprocess.Popen(
                command, stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL
            )
            resources.callback(self._kill_process)
            self._wait_ready(port_file, self.start_timeout)
            self._resources = resources.pop_all()
        return self

    def _wait_ready(self, port_file: Path, timeout: float) -> None:
        process = self._process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxError(
                    f"recras-sandbox exited with {process.returncode}: {self._log_tail()}"
                )
            try:
                text = port_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text:
                self._port = int(text)
                return
            time.sleep(0.02)
        raise SandboxError(f"recras-sandbox not ready after {timeout:.0f}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-2000:] if self.log_path else ""
        except OSError:
            return "(no log)"

    @property
    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise SandboxError(_NOT_STARTED)
        return self._proc

    @property
    def port(self) -> int:
        """The port the server listens on (once started)."""
        if self._port is None:
            raise SandboxError(_NOT_STARTED)
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (once started)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once stopped, else None (also before the start)."""
        return self._proc.poll() if self._proc is not None else None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit on its own; returns the exit status."""
        return self._process.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait (kill after ``timeout``); returns the exit status.

        A sandbox never started has nothing to stop (returns None).
        """
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout)
        self.kill()
        return self.returncode

    def kill(self) -> None:
        """SIGKILL, no clean shutdown (simulates a crash); frees what start() opened."""
        # A log the caller asked for lives outside the temporary directory and stays.
        self._resources.close()

    def _kill_process(self) -> None:
        process = self._process
        if process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------ helpers

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A tap/target config for this sandbox; ``overrides`` are merged in."""
        return {"base_url": self.base_url, "api_key": self.api_key, **overrides}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request with the Bearer key; returns (status, headers, raw body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            all_headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                all_headers["Content-Type"] = "application/json"
            all_headers.update(headers or {})
            conn.request(method, path, body=data, headers=all_headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        status, _, raw = self.request(method, path, body)
        if status != 200:
            raise SandboxError(f"{method} {path} -> {status}: {raw[:500]!r}")
        return json.loads(raw)

    def stats(self) -> dict[str, Any]:
        """Counts of customers, persons, /api2 requests by route and responses by status."""
        result: dict[str, Any] = self._admin("GET", "/_sandbox/stats")
        return result

    def reset_stats(self) -> None:
        """Zero the request and response counters."""
        self._admin("POST", "/_sandbox/reset-stats")

    def add_customers(self, count: int) -> list[int]:
        """Generate ``count`` more customers above the current maximum id; their ids."""
        ids: list[int] = self._admin("POST", "/_sandbox/customers?" + urlencode({"count": count}))
        return ids

    def customers(self) -> list[dict[str, Any]]:
        """Every customer with its contact persons (and ``extra_fields``), by id."""
        dump: list[dict[str, Any]] = self._admin("GET", "/_sandbox/customers")
        return dump

    def delete_customer(self, klant_id: int) -> list[int]:
        """Delete a customer (admin route); returns the ids of the persons it unlinked."""
        result: dict[str, Any] = self._admin("DELETE", f"/_sandbox/customers/{klant_id}")
        unlinked: list[int] = result["unlinked_persons"]
        return unlinked

    def rows(self, resource: str) -> list[dict[str, Any]]:
        """Every row of ``resource`` as the API renders it, by id: ``boekingen`` with their
        lines, ``boekingsregels`` with ``boeking_id``, ``facturen``, ``factuurregels``,
        ``betalingen`` (with ``factuur_id``) or a reference table (``producten``, ...)."""
        rows: list[dict[str, Any]] = self._admin("GET", f"/_sandbox/data/{resource}")
        return rows

    def add_bookings(self, count: int) -> list[int]:
        """``count`` new bookings (with lines) of existing customers, ids above every existing
        one; their ids."""
        ids: list[int] = self._admin("POST", "/_sandbox/boekingen?" + urlencode({"count": count}))
        return ids

    def delete_booking(self, boeking_id: int) -> None:
        """Delete a booking and its lines (its invoices stay)."""
        self._admin("DELETE", f"/_sandbox/boekingen/{boeking_id}")

    def add_invoices(self, count: int, datum: str | None = None) -> list[int]:
        """``count`` new invoices (with lines) of existing bookings, dated ``datum``
        (``YYYY-MM-DD``; default today; ``"concept"``: concept invoices without a date)."""
        query = {"count": str(count)} if datum is None else {"count": str(count), "datum": datum}
        ids: list[int] = self._admin("POST", "/_sandbox/facturen?" + urlencode(query))
        return ids

    def set_invoice_status(self, factuur_id: int, status: str) -> None:
        """Change an invoice's status (concept, verzonden, deels_betaald, betaald)."""
        self._admin("POST", f"/_sandbox/facturen/{factuur_id}/status", {"status": status})

    def add_payment(self, factuur_id: int, bedrag: str) -> int:
        """Register a payment of ``bedrag`` (a decimal string, ``"12.50"``) on an invoice, made
        now; the invoice's status follows its payments. Returns the payment's id."""
        result: dict[str, Any] = self._admin(
            "POST", f"/_sandbox/facturen/{factuur_id}/betalingen", {"bedrag": bedrag}
        )
        payment_id: int = result["id"]
        return payment_id

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Change fault_rate, invalid_json_rate, latency_ms, retry_after, fault_seed."""
        result: dict[str, Any] = self._admin("POST", "/_sandbox/faults", settings)
        return result
