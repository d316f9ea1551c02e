"""The Meltano Hub definitions in hub/: current, and usable exactly as the README says.

* ``scripts/hub_definitions.py --check`` passes: the files match ``--about --format=json``;
* a new user's project: ``meltano init``, then ``meltano add --plugin-type extractor
  tap-recras --from-ref <hub file>`` (and the loader), with the local Meltano of
  .venv-meltano; the only change to the hub files is ``pip_url``, pointed at this checkout
  instead of the git URL; then ``meltano run tap-recras target-recras`` against a sandbox,
  the target in a dry run (it plans an update per customer and sends nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.paths import ROOT
from support.pyproject import project_metadata

# A new user's project of its own, in tmp_path: no .meltano/run files of the checkout's.
pytestmark = pytest.mark.meltano

MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
HUB_FILES = {
    "extractor": ROOT / "hub" / "extractors" / "tap-recras.yml",
    "loader": ROOT / "hub" / "loaders" / "target-recras.yml",
}
SECRET_KEY = "hub-test-secret-key-0e9a4c17"


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


def _meltano(project: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(MELTANO), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert done.returncode == 0, f"meltano {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_meltano_add_from_ref_in_a_new_project_and_run(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=15, api_key=SECRET_KEY)
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("MELTANO_", "TAP_", "TARGET_"))
        },
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_RECRAS_BASE_URL": recras.base_url,
        "TAP_RECRAS_API_KEY": SECRET_KEY,
        "TARGET_RECRAS_BASE_URL": recras.base_url,
        "TARGET_RECRAS_DRY_RUN": "true",
        "TARGET_RECRAS_REJECTS_PATH": str(tmp_path / "rejects.jsonl"),
        "TARGET_RECRAS_ID_MAP_PATH": str(tmp_path / "id-map.sqlite3"),
    }
    _meltano(tmp_path, "init", "--no-usage-stats", "project", env=env)
    project = tmp_path / "project"
    for kind, path in HUB_FILES.items():
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        definition["pip_url"] = str(ROOT)  # this checkout instead of the git URL
        local = tmp_path / path.name
        local.write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
        _meltano(project, "add", "--plugin-type", kind, definition["name"], "--from-ref",
                 str(local), env=env)  # fmt: skip

    added = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    (tap,) = added["plugins"]["extractors"]
    assert (tap["name"], tap["variant"], tap["pip_url"]) == (
        "tap-recras",
        "recras-singer",
        str(ROOT),
    )
    _meltano(project, "select", "tap-recras", "klanten", "*", env=env)
    run = _meltano(project, "run", "tap-recras", "target-recras", env=env)
    log = run.stdout + run.stderr
    assert "Summary: 15 records read" in log, log[-4000:]
    assert "dry run: 0 would be created, 15 updated" in log, log[-3000:]
    assert SECRET_KEY not in log
    assert SECRET_KEY not in (project / "meltano.yml").read_text(encoding="utf-8")
    # The dry run sent nothing: the sandbox saw only the tap's reads.
    assert set(recras.stats()["requests"]) <= {"GET /api2/klanten", "GET /api2/klanten/{id}"}
