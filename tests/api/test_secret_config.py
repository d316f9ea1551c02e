"""A secret setting of the wrong type is reported by name, never by value, by both plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
NUMERIC_KEY = 987654321012  # what YAML makes of an all-digit key
LISTED_PASSWORD = ["hunter2-secret-password"]


@pytest.mark.parametrize("plugin", ["tap-recras", "target-recras"])
def test_wrongly_typed_secrets_are_named_not_shown(plugin: str, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"base_url": "http://127.0.0.1:9", "api_key": NUMERIC_KEY, "password": LISTED_PASSWORD}
        )
    )
    done = subprocess.run(
        [str(BIN / plugin), "--config", str(config)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "config['api_key'] is not valid" in output
    assert "config['password'] is not valid" in output
    assert str(NUMERIC_KEY) not in output
    assert LISTED_PASSWORD[0] not in output
