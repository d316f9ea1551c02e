"""Child processes that compile their bytecode once, into a cache outside every venv.

Where ``PYTHONDONTWRITEBYTECODE`` is set, Python writes no ``.pyc`` and compiles every module it
imports at every start; tests that start Meltano and its plugins again and again use
:func:`cached_bytecode` (through the ``bytecode_cache`` fixture of tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def cached_bytecode(cache_dir: Path) -> Iterator[None]:
    """Inside the block, child processes write their bytecode to ``cache_dir``."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        yield
        return
    with pytest.MonkeyPatch.context() as env:
        env.delenv("PYTHONDONTWRITEBYTECODE")
        if not os.environ.get("PYTHONPYCACHEPREFIX"):
            env.setenv("PYTHONPYCACHEPREFIX", str(cache_dir))
        yield
