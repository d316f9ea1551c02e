"""A throw-away PostgreSQL cluster on 127.0.0.1 for the reverse-ETL demo and tests.

Uses the server binaries of an installed PostgreSQL (``/usr/lib/postgresql/<version>/bin`` on
Debian and Ubuntu, or ``initdb``/``pg_ctl`` on ``PATH``); ``./scripts/test.sh`` installs them
with apt-get when they are missing. PostgreSQL refuses to run as root, so under root the
cluster runs as the ``postgres`` system user (created by the package) or ``nobody``.

    with PostgresCluster() as pg:
        pg.psql("CREATE TABLE t (x int)")
        print(pg.port)
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

DATABASE = "customers"
USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``psql`` (newest version wins)."""

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    msg = (
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL "
        "(./scripts/test.sh runs `apt-get install postgresql` when it can)"
    )
    raise PostgresUnavailableError(msg)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """initdb + pg_ctl start on a free port under a private temporary directory."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user = USER
        self.database = DATABASE
        self.base_dir = Path(tempfile.mkdtemp(prefix="recras-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self._run_as: str | None = None
        if os.geteuid() == 0:
            self._run_as = _unprivileged_user()
            account = pwd.getpwnam(self._run_as)
            os.chown(self.base_dir, account.pw_uid, account.pw_gid)
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        if self._run_as:
            return ["runuser", "-u", self._run_as, "--", *args]
        return list(args)

    def _run(self, *args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            self._cmd(*args),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base_dir,
            timeout=120,
        )
        if proc.returncode != 0:
            msg = f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
            raise RuntimeError(msg)
        return proc.stdout

    def start(self) -> PostgresCluster:
        """Create the cluster, start it and create the database."""
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-p {self.port} -k {self.base_dir} -c listen_addresses={self.host} -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "start",
        )
        self.started = True
        self.psql(f"CREATE DATABASE {self.database}", database="postgres")
        return self

    def psql(self, sql: str, *, database: str | None = None) -> str:
        """Run SQL through psql over TCP; returns unaligned, tuples-only output."""
        return self._run(
            str(self.bin_dir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            database or self.database,
            "-f",
            "-",
            stdin=sql,
        )

    def env(self) -> dict[str, str]:
        """The PG_* variables meltano.yml reads for tap-postgres-customers."""
        return {
            "PG_HOST": self.host,
            "PG_PORT": str(self.port),
            "PG_USER": self.user,
            "PG_PASSWORD": "unused-trust-auth",
            "PG_DATABASE": self.database,
        }

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self.started:
            try:
                pg_ctl = str(self.bin_dir / "pg_ctl")
                self._run(pg_ctl, "-D", str(self.data_dir), "-m", "fast", "stop")
            finally:
                self.started = False
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    msg = "running as root and neither a 'postgres' nor a 'nobody' user exists"
    raise PostgresUnavailableError(msg)
