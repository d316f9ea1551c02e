"""The ``[project]`` table of the checkout's pyproject.toml: what the package says about itself.

Read here on its own, not through scripts/hub_definitions.py, so that tests of what that script
writes compare it with pyproject.toml rather than with the script's own reading of it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from typing import Any

from support.paths import ROOT


@cache
def project_metadata() -> dict[str, Any]:
    """``[project]`` of pyproject.toml (name, license, classifiers, readme, urls, ...)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project
