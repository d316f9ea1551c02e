"""Connection settings that cannot work are refused when the config is read, by name.

Covers characters HTTP headers cannot carry, ``request_timeout: 0``, impossible ports and
misspelt setting names, through ``ConnectionSettings`` and the real executables.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile_server import HostileServer, Reply, hostile_servers
from support.target import customer, run_target, singer_input, target_config

from recras_api import ConnectionSettings, RecrasConfigError
from tap_recras.testing import run_tap

__all__ = ["hostile_servers"]

Servers = Callable[[dict[str, Any]], HostileServer]
NON_LATIN1_KEY = "sleutel-\u20ac-5d2a-never-shown"
NON_LATIN1_PASSWORD = "wachtwoord-\u0141-never-shown"


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        ({"api_key": NON_LATIN1_KEY}, "api_key"),
        ({"username": "jan", "password": NON_LATIN1_PASSWORD}, "password"),
    ],
)
def test_non_latin1_credentials_are_refused_by_name(config: dict[str, Any], setting: str) -> None:
    with pytest.raises(RecrasConfigError, match=f"^{setting} contains a character") as raised:
        ConnectionSettings.from_config({"base_url": "https://x.recras.nl", **config}, "ua")
    assert "never-shown" not in str(raised.value)
    assert "\u20ac" not in str(raised.value)
    assert "\u0141" not in str(raised.value)


def test_tap_refuses_a_non_latin1_api_key_without_a_traceback() -> None:
    run = run_tap({"base_url": "http://127.0.0.1:9", "api_key": NON_LATIN1_KEY}, timeout=60)
    assert run.returncode != 0
    assert "api_key contains a character" in run.stderr
    assert "UnicodeEncodeError" not in run.stderr
    assert "never-shown" not in run.stderr + run.stdout
    assert "\u20ac" not in run.stderr


def test_target_refuses_a_non_latin1_password_naming_it(tmp_path: Path) -> None:
    base = {"base_url": "http://127.0.0.1:9", "username": "jan", "password": NON_LATIN1_PASSWORD}
    result = run_target(target_config(tmp_path, base), singer_input([customer(1)]))
    assert result.returncode != 0
    assert "password contains a character" in result.stderr
    assert "UnicodeEncodeError" not in result.stderr
    assert "never-shown" not in result.stderr + result.stdout


@pytest.mark.parametrize("timeout", [0, 0.0, -3])
def test_request_timeout_zero_or_negative_is_an_error(timeout: float) -> None:
    config = {"base_url": "https://x.recras.nl", "api_key": "k", "request_timeout": timeout}
    with pytest.raises(RecrasConfigError, match="request_timeout must be a positive number"):
        ConnectionSettings.from_config(config, "ua")


def test_request_timeout_unset_is_the_default() -> None:
    settings = ConnectionSettings.from_config({"base_url": "https://x.nl", "api_key": "k"}, "ua")
    assert settings.request_timeout == 60.0


@pytest.mark.parametrize("netloc", ["demo.recras.nl:99999", "demo.recras.nl:0", "demo.nl:http"])
def test_impossible_port_is_a_config_error(netloc: str) -> None:
    config = {"base_url": f"https://{netloc}", "api_key": "k"}
    with pytest.raises(RecrasConfigError, match="base_url has an invalid port"):
        ConnectionSettings.from_config(config, "ua")


def test_tap_reports_an_impossible_port_not_a_location_parse_error() -> None:
    run = run_tap({"base_url": "http://127.0.0.1:99999", "api_key": "k"}, timeout=60)
    assert run.returncode != 0
    assert "base_url has an invalid port" in run.stderr
    assert "LocationParseError" not in run.stderr


def unknown_setting_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Unknown setting" in line]


def test_tap_warns_about_a_misspelt_setting_by_name(hostile_servers: Servers) -> None:
    server = hostile_servers({"GET /api2/klanten": Reply.json([])})
    config = server.config(api_kye="k", api_key="k", stream_maps={}, flattening_enabled=False)
    run = run_tap(config, timeout=60)
    assert run.returncode == 0
    warned = unknown_setting_warnings(run.stderr)
    assert len(warned) == 1, warned
    assert "Unknown setting 'api_kye' is ignored; did you mean api_key?" in warned[0]


def test_target_warns_about_an_unknown_setting_but_not_builtin_ones(tmp_path: Path) -> None:
    base = {"base_url": "http://127.0.0.1:9", "api_key": "k", "dry_run": True}
    extra = {"dry_rn": True, "stream_maps": {}, "flattening_enabled": False}
    config = target_config(tmp_path, base, **extra)
    result = run_target(config, singer_input([customer(1)]))
    warned = unknown_setting_warnings(result.stderr)
    assert len(warned) == 1, warned
    assert "Unknown setting 'dry_rn' is ignored; did you mean dry_run?" in warned[0]
