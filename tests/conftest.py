"""Shared fixtures: a real recras-sandbox process per test; Meltano's project schema.

``sandbox_factory(**options)`` starts a sandbox with the given options (the keyword
arguments of :class:`recras_sandbox.testing.SandboxProcess`, mirroring the CLI flags);
every sandbox it started is stopped at teardown. ``sandbox`` is a default one:
200 customers, seed 1, no paging, no faults. ``meltano_schema`` is the JSON schema of
meltano.yml from the Meltano installed in .venv-meltano.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recras_sandbox.testing import SandboxProcess

SandboxFactory = Callable[..., SandboxProcess]


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes on demand; all are stopped when the test ends."""
    started: list[SandboxProcess] = []

    def start(**options: Any) -> SandboxProcess:
        process = SandboxProcess(**options)
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
    meltano_venv = Path(__file__).resolve().parent.parent / ".venv-meltano"
    schemas = list(
        meltano_venv.glob("lib/python3*/site-packages/meltano/schemas/meltano.schema.json")
    )
    assert schemas, "Meltano is not installed in .venv-meltano: run ./scripts/install_meltano.sh"
    schema: dict[str, Any] = json.loads(schemas[0].read_text(encoding="utf-8"))
    return schema
