"""Shared fixtures: a real recras-sandbox process per test.

``sandbox_factory(**options)`` starts a sandbox with the given options (the keyword
arguments of :class:`recras_sandbox.testing.SandboxProcess`, mirroring the CLI flags);
every sandbox it started is stopped at teardown. ``sandbox`` is a default one:
200 customers, seed 1, no paging, no faults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
