"""Start the real ``recras-sandbox`` executable for tests, benchmarks and demos.

Example::

    with SandboxProcess(customers=500, page_size=100) as sandbox:
        config = sandbox.config()            # {"base_url": ..., "api_key": ...}
        ...
        print(sandbox.stats()["requests"])

Only the standard library is used, so this works wherever the package is installed.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from recras_sandbox.readings import Readings
from recras_sandbox.server import SandboxConfig


def sandbox_command() -> list[str]:
    """The console script next to the running interpreter, else ``python -m``."""
    script = Path(sys.executable).parent / "recras-sandbox"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "recras_sandbox"]


class SandboxError(RuntimeError):
    """The sandbox process failed to start or an admin call failed."""


class SandboxProcess:
    """A running ``recras-sandbox`` subprocess on a free loopback port.

    Keyword options mirror the CLI flags. ``start_timeout`` bounds the wait for
    readiness (default 15 s, plus time for very large seeds); ``log_path`` receives
    the server's stderr (and stdout).
    """

    def __init__(
        self,
        *,
        customers: int = 200,
        seed: int = 1,
        api_key: str = SandboxConfig.api_key,
        readonly_key: str = SandboxConfig.readonly_key,
        username: str = SandboxConfig.username,
        password: str = SandboxConfig.password,
        page_size: int = 0,
        shuffle: bool = False,
        fault_rate: float = 0.0,
        fault_seed: int | None = None,
        retry_after: int | None = None,
        latency_ms: float = 0.0,
        invalid_json_rate: float = 0.0,
        max_concurrent: int = 0,
        limit_retry_after: int = SandboxConfig.limit_retry_after,
        db: str | os.PathLike[str] | None = None,
        merge: str = Readings.merge,
        put_extra_fields: str = Readings.put_extra_fields,
        id_min: str = Readings.id_min,
        linked_person_fields: str = Readings.linked_person_fields,
        list_persons: bool = False,
        log_path: str | os.PathLike[str] | None = None,
        start_timeout: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.readonly_key = readonly_key
        self.username = username
        self.password = password
        self.port = 0
        self.base_url = ""
        self._tmpdir = tempfile.TemporaryDirectory(prefix="recras-sandbox-")
        port_file = Path(self._tmpdir.name) / "port"
        self.log_path = Path(log_path) if log_path else Path(self._tmpdir.name) / "sandbox.log"
        args = [
            *sandbox_command(),
            "--port", "0",
            "--port-file", str(port_file),
            "--customers", str(customers),
            "--seed", str(seed),
            "--api-key", api_key,
            "--readonly-key", readonly_key,
            "--username", username,
            "--password", password,
            "--page-size", str(page_size),
            "--fault-rate", str(fault_rate),
            "--latency-ms", str(latency_ms),
            "--invalid-json-rate", str(invalid_json_rate),
            "--max-concurrent", str(max_concurrent),
            "--limit-retry-after", str(limit_retry_after),
            "--merge", merge,
            "--put-extra-fields", put_extra_fields,
            "--id-min", id_min,
            "--linked-person-fields", linked_person_fields,
        ]  # fmt: skip
        if shuffle:
            args.append("--shuffle")
        if list_persons:
            args.append("--list-persons")
        if fault_seed is not None:
            args += ["--fault-seed", str(fault_seed)]
        if retry_after is not None:
            args += ["--retry-after", str(retry_after)]
        if db is not None:
            args += ["--db", str(db)]
        self._log: IO[bytes] = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            args, stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL
        )
        if start_timeout is None:
            # Generation runs ~100k customers/s; a fresh SQLite file also stores them.
            start_timeout = 15.0 + customers / 40_000 * (3 if db is not None else 1)
        try:
            self._wait_ready(port_file, start_timeout)
        except BaseException:
            self.kill()
            raise

    # ------------------------------------------------------------ lifecycle

    def _wait_ready(self, port_file: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SandboxError(
                    f"recras-sandbox exited with {self._proc.returncode}: {self._log_tail()}"
                )
            try:
                text = port_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text:
                self.port = int(text)
                self.base_url = f"http://127.0.0.1:{self.port}"
                return
            time.sleep(0.02)
        raise SandboxError(f"recras-sandbox not ready after {timeout:.0f}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once stopped, else None."""
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit on its own; returns the exit status."""
        return self._proc.wait(timeout)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait (kill after ``timeout``); returns the exit status."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._cleanup()
        return self._proc.returncode

    def kill(self) -> None:
        """SIGKILL, no clean shutdown (simulates a crash)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if not self._log.closed:
            self._log.close()
        # A log the caller asked for lives outside the temporary directory and stays.
        self._tmpdir.cleanup()

    def __enter__(self) -> SandboxProcess:
        return self

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

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Change fault_rate, invalid_json_rate, latency_ms, retry_after, fault_seed."""
        result: dict[str, Any] = self._admin("POST", "/_sandbox/faults", settings)
        return result
