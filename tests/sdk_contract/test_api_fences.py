"""The singer-sdk internal both plugins rely on (recras_api/sdk_compat.py).

``SecretSafeConfigValidation`` overrides ``PluginBase._validate_config``. When an SDK
release renames, reshapes or rewrites it, or stops calling it from ``PluginBase.__init__``,
these tests fail, naming it, instead of secrets silently reaching config errors again. And no
other ``recras_api`` module names a private SDK name.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from singer_sdk.plugin_base import PluginBase

import recras_api
import tap_recras
import target_recras
from recras_api.sdk_compat import CHECKED_AGAINST, PRIVATE_NAMES, SecretSafeConfigValidation
from tap_recras.tap import TapRecras
from target_recras.target import TargetRecras

#: sha256 (first 16 hex digits) of each name's source in singer-sdk 0.54.9. When one changes,
#: read the new SDK code, adapt recras_api/sdk_compat.py, then update the value.
SOURCE_FINGERPRINTS = {"PluginBase._validate_config": "0584b9e347e353fa"}
PACKAGES = [Path(package.__file__).parent for package in (recras_api, tap_recras, target_recras)]


def label(owner: type, name: str) -> str:
    return f"{owner.__qualname__}.{name}"


def test_installed_sdk_is_the_release_line_the_name_was_checked_against() -> None:
    line = ".".join(CHECKED_AGAINST.split(".")[:2])
    assert version("singer-sdk").startswith(line + ".")


@pytest.mark.parametrize(("owner", "name", "use"), PRIVATE_NAMES, ids=lambda v: str(v)[:30])
def test_private_name_is_unchanged(owner: type, name: str, use: str) -> None:
    value = getattr(owner, name, None)
    assert callable(value), f"singer-sdk no longer has {label(owner, name)}"
    digest = hashlib.sha256(inspect.getsource(value).encode()).hexdigest()[:16]
    assert digest == SOURCE_FINGERPRINTS[label(owner, name)], f"singer-sdk changed {name}"
    ours = getattr(SecretSafeConfigValidation, name)
    assert inspect.signature(ours) == inspect.signature(value)


def test_the_sdk_still_calls_it_and_both_plugins_use_the_override() -> None:
    assert "self._validate_config(raise_errors=" in inspect.getsource(PluginBase.__init__)
    for plugin in (TapRecras, TargetRecras):
        assert plugin._validate_config is SecretSafeConfigValidation._validate_config


def test_every_fingerprinted_name_is_listed() -> None:
    assert set(SOURCE_FINGERPRINTS) == {label(o, n) for o, n, _ in PRIVATE_NAMES}


def test_no_other_module_names_the_private_sdk_names_listed_here() -> None:
    # The mixin serves both plugins, so its names stay out of all three packages.
    listed = "|".join(name for _, name, _ in PRIVATE_NAMES)
    uses = re.compile(rf"\b({listed})\b|singer_sdk[\w.]*\._\w")
    modules = [p for package in PACKAGES for p in package.glob("*.py") if p.name != "sdk_compat.py"]
    offenders = [f"{p.parent.name}/{p.name}" for p in modules if uses.search(p.read_text("utf-8"))]
    assert offenders == []
