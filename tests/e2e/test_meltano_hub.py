"""The Meltano Hub definitions in hub/: current, and complete.

* ``scripts/hub_definitions.py --check`` passes: the files match ``--about --format=json``;
* each has the fields the Hub shows, and marks exactly the secrets sensitive.

How a user adds them (``meltano add --from-ref`` in a fresh project, ``pip_url`` at a local
copy) and runs them is tested by tests/e2e/test_meltano_readme.py, which follows the README.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from support.documents.pyproject import project_metadata
from support.paths import ROOT

HUB_FILES = {
    "extractor": ROOT / "hub" / "extractors" / "tap-recras.yml",
    "loader": ROOT / "hub" / "loaders" / "target-recras.yml",
}


@pytest.mark.slow
def test_hub_definitions_match_the_plugins() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hub_definitions.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_hub_definitions_have_the_hub_fields() -> None:
    for kind, path in HUB_FILES.items():
        plugin = yaml.safe_load(path.read_text(encoding="utf-8"))
        for field in ("name", "namespace", "variant", "label", "description", "docs", "repo"):
            assert isinstance(plugin[field], str) and plugin[field], (kind, field)
        # The addresses are pyproject.toml's (tests/project/test_repository_urls.py checks the
        # docs that repeat them).
        assert plugin["repo"] == project_metadata()["urls"]["Repository"]
        assert plugin["docs"].startswith(f"{plugin['repo']}#")
        assert plugin["pip_url"] == f"git+{plugin['repo']}.git"
        assert plugin["executable"] == plugin["name"]
        settings = {s["name"]: s for s in plugin["settings"]}
        for entry in settings.values():
            assert {"name", "kind", "label", "description", "sensitive"} <= set(entry)
        # The loader's id_map_url may carry a PostgreSQL password.
        secrets = {"api_key", "password"} | ({"id_map_url"} if kind == "loader" else set())
        assert {n for n, s in settings.items() if s["sensitive"]} == secrets
        assert ["base_url", "api_key"] in plugin["settings_group_validation"]
