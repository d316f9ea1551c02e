"""Shared fixtures: a real recras-sandbox process per test; Meltano's project schema.

``sandbox_factory(**options)`` starts a sandbox with the given options (the keyword
arguments of :class:`recras_sandbox.testing.SandboxProcess`, mirroring the CLI flags);
every sandbox it started is stopped at teardown. ``sandbox`` is a default one:
200 customers, seed 1, no paging, no faults. ``meltano_schema`` is the JSON schema of
meltano.yml from the Meltano installed in .venv-meltano. ``in_flight`` counts the calls
running at once (tests of a concurrency limit). ``pg_cluster`` is a private PostgreSQL server
on a free port for one test module (scripts/pgcluster.py).

Markers (registered in pyproject.toml) follow from where a test is and what it uses: ``e2e``
for tests/e2e, ``property`` for tests/properties and every hypothesis test, ``postgres`` for
every test of ``pg_cluster``. Modules that run Meltano or start PostgreSQL themselves say so.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pgcluster import PostgresCluster
from support.paths import ROOT
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess

TESTS = ROOT / "tests"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder and fixtures (see the module docstring)."""
    for item in items:
        if item.path.is_relative_to(TESTS / "e2e"):
            item.add_marker(pytest.mark.e2e)
        hypothesis_test = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        if item.path.is_relative_to(TESTS / "properties") or hypothesis_test:
            item.add_marker(pytest.mark.property)
        if "pg_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes on demand; all are stopped when the test ends."""
    started: list[SandboxProcess] = []

    def start(**options: Any) -> SandboxProcess:
        process = SandboxProcess(**options).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> SandboxProcess:
    """A default seeded sandbox: 200 customers, seed 1."""
    return sandbox_factory()


@pytest.fixture(scope="session")
def meltano_schema() -> dict[str, Any]:
    """meltano.yml's JSON schema, from the Meltano installed in .venv-meltano."""
    meltano_venv = ROOT / ".venv-meltano"
    schemas = list(
        meltano_venv.glob("lib/python3*/site-packages/meltano/schemas/meltano.schema.json")
    )
    assert schemas, "Meltano is not installed in .venv-meltano: run ./scripts/install_meltano.sh"
    schema: dict[str, Any] = json.loads(schemas[0].read_text(encoding="utf-8"))
    return schema


class InFlight:
    """Counts the callers inside :meth:`one` at the same time, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0
        self.most = 0

    @contextmanager
    def one(self) -> Iterator[None]:
        """One caller in flight for the ``with`` block."""
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        try:
            yield
        finally:
            with self._lock:
                self._now -= 1


@pytest.fixture
def in_flight() -> InFlight:
    """A fresh :class:`InFlight` counter."""
    return InFlight()


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for the module, stopped at its end."""
    with PostgresCluster() as pg:
        yield pg
