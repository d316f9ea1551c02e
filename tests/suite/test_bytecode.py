"""The Meltano tests' child processes compile their bytecode once, not at every start.

Where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it), Python writes no ``.pyc`` and
compiles every module it imports from source at every start. .venv-meltano and the plugin
venvs are installed by uv, which compiles nothing, so every ``meltano`` start spent 3-4 s
compiling Meltano, and every plugin start compiled singer-sdk again.
:func:`support.bytecode.cached_bytecode` lets child processes write their bytecode into one
cache directory outside every venv (``PYTHONPYCACHEPREFIX``), so only the first start
compiles; the test modules that run Meltano use the ``bytecode_cache`` fixture
(tests/e2e/conftest.py), one cache per pytest worker. Where bytecode is written anyway,
nothing changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.bytecode import cached_bytecode


def test_children_compile_a_module_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    source = tmp_path / "src"
    source.mkdir()
    (source / "suite_probe.py").write_text("VALUE = 1\n", encoding="utf-8")
    cache = tmp_path / "cache"

    def child() -> None:
        subprocess.run(
            [sys.executable, "-c", "import suite_probe"],
            env={**os.environ, "PYTHONPATH": str(source)},
            check=True,
            timeout=60,
        )

    child()
    assert not list(tmp_path.rglob("*.pyc")), "PYTHONDONTWRITEBYTECODE wrote bytecode"
    with cached_bytecode(cache):
        child()
    assert [path.name for path in cache.rglob("suite_probe.*")] == [
        f"suite_probe.{sys.implementation.cache_tag}.pyc"
    ]
    # Nothing next to the source (in a venv that would be __pycache__ inside the venv).
    assert not (source / "__pycache__").exists()
    # The block's end restores the environment.
    assert os.environ["PYTHONDONTWRITEBYTECODE"] == "1"
    assert "PYTHONPYCACHEPREFIX" not in os.environ
