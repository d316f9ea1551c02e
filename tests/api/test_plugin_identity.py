"""Both executables report the distribution's version, and send it in their User-Agent."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from recras_api.settings import DISTRIBUTION

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("plugin", ["tap-recras", "target-recras"])
def test_version_is_the_distributions(plugin: str) -> None:
    version = metadata.version(DISTRIBUTION)
    shown = subprocess.run(
        [str(BIN / plugin), "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert shown.startswith(f"{plugin} v{version},"), shown


@pytest.mark.parametrize("plugin", ["tap-recras", "target-recras"])
def test_default_user_agent_names_plugin_and_version(plugin: str) -> None:
    about = subprocess.run(
        [str(BIN / plugin), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert f'"default": "{plugin}/{metadata.version(DISTRIBUTION)}"' in about
