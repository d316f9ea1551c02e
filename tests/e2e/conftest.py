"""Fixtures of the end-to-end tests: Meltano and its plugins start many times per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.bytecode import cached_bytecode


@pytest.fixture(scope="module")
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """:func:`cached_bytecode` for the module, in the worker's cache (shared by modules)."""
    with cached_bytecode(tmp_path_factory.getbasetemp() / "pycache"):
        yield
