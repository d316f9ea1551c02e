"""README.md's "Add to your own Meltano project", followed literally by a new user.

Every ```bash block of the section runs as written, in order, in one shell session in an
empty directory (``support.documents.readme.ShellSession``), with the variables the section asks
the user to set: ``RECRAS_CHECKOUT`` (this checkout: the local route, no network but PyPI for
``target-jsonl`` and ``tap-jsonl``), ``RECRAS_BASE_URL`` and ``RECRAS_API_KEY`` (a sandbox
started here), and the Meltano of .venv-meltano on PATH. Nothing else from the caller's
``MELTANO_*``, ``TAP_*`` or ``TARGET_*`` reaches Meltano, so a setting the section forgets fails
the run. Between the two ``meltano run tap-recras target-jsonl`` blocks customers are added in
the sandbox, as a user's Recras gains customers between two scheduled runs; the incremental run
must move exactly those, and the reverse-ETL run must create the file's customers in the sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.documents.markdown import fenced_blocks
from support.documents.readme import ShellSession, section
from support.meltano import new_user_env
from support.paths import ROOT
from support.sandbox import SandboxFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.meltano,
    pytest.mark.timeout(540),
    pytest.mark.usefixtures("bytecode_cache"),
]

SEEDED = 12
ADDED = 3
SECRET_KEY = "readme-test-secret-key-5b1f07c2"
INCREMENTAL_RUN = "meltano run tap-recras target-jsonl"
REVERSE_RUN = "meltano run tap-jsonl target-recras"


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ids(path: Path) -> list[int]:
    return [record["id"] for record in _records(path)]


def test_the_readme_section_runs_as_written(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    blocks = fenced_blocks(section("Add to your own Meltano project"), "bash")
    incremental = [i for i, block in enumerate(blocks) if INCREMENTAL_RUN in block]
    (reverse,) = [i for i, block in enumerate(blocks) if REVERSE_RUN in block]
    assert len(incremental) == 2, "the section shows a first and a later incremental run"

    recras = sandbox_factory(customers=SEEDED, bookings=SEEDED, api_key=SECRET_KEY)
    seeded = [customer["id"] for customer in recras.customers()]
    env = new_user_env(
        RECRAS_CHECKOUT=str(ROOT), RECRAS_BASE_URL=recras.base_url, RECRAS_API_KEY=SECRET_KEY
    )
    (tmp_path / "user").mkdir()
    shell = ShellSession.start(tmp_path / "user", tmp_path / "shell", env)
    log = []
    for index, block in enumerate(blocks):
        if index == incremental[1]:
            added = recras.add_customers(ADDED)
        log.append(shell.run(block))
        project = shell.cwd
        klanten = project / "output" / "klanten.jsonl"
        if index == incremental[0]:
            assert _ids(klanten) == seeded, log[-1][-3000:]
        elif index == incremental[1]:
            assert _ids(klanten) == seeded + added, log[-1][-3000:]
        elif index == reverse:
            exported = _records(project / "new-customers.jsonl")
            summary = f"Summary: {len(exported)} records read: {len(exported)} created"
            assert summary in log[-1], log[-1][-3000:]

    plugins = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))["plugins"]
    ours = [p for kind in plugins.values() for p in kind if p["name"].endswith("-recras")]
    assert {(p["name"], p["variant"], p["pip_url"]) for p in ours} == {
        ("tap-recras", "recras-singer", str(ROOT)),
        ("target-recras", "recras-singer", str(ROOT)),
    }
    # The file's customers are in Recras now, with the highest ids (in either order: target-recras
    # writes customers concurrently), and nothing else changed.
    names = [customer["naam"] for customer in recras.customers()]
    assert len(names) == SEEDED + ADDED + len(exported)
    assert sorted(names[-len(exported) :]) == sorted(customer["naam"] for customer in exported)
    assert recras.stats()["requests"]["POST /api2/klanten"] == len(exported)
    assert SECRET_KEY not in "".join(log)
    assert SECRET_KEY not in (project / "meltano.yml").read_text(encoding="utf-8")
