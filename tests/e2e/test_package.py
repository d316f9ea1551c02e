"""The package as PyPI would ship it: built, installed into a fresh venv, run outside the checkout.

``python -m build`` makes the sdist and the wheel (into tmp_path); the wheel is installed
into a new venv in tmp_path with its dependencies resolved by pip from the package index
(pip's cache makes a rerun fast; nothing comes from the project's venv). Every command then
runs with the working directory in tmp_path, so nothing is imported from the checkout:
``tap-recras --about --format=json``, ``target-recras --about``, and a pipeline from the
installed ``recras-sandbox`` through ``tap-recras`` into ``target-recras`` (dry run).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from support.paths import ROOT

import recras_sandbox

#: The import packages the distribution ships.
PACKAGES = ("recras_api", "tap_recras", "target_recras", "recras_sandbox", "airbyte_recras")


def _run(*args: str | Path, cwd: Path, timeout: float = 300, **kwargs: object) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return str(done.stdout)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel, built from the checkout."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    return out


@pytest.mark.slow
def test_sdist_and_wheel_carry_license_metadata_and_every_package(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = whl.read(meta_name).decode()
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "Project-URL: Repository, https://" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    # The long description is docs/pypi.md: links are absolute (relative ones break on PyPI).
    description = metadata.split("\n\n", 1)[1]
    assert description.startswith("# recras-singer")
    assert "](docs/" not in description and "](./" not in description
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("/LICENSE") for m in members)
    assert any(m.endswith("/docs/pypi.md") for m in members)


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_checkout(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path, timeout=600)

    # Imported from the venv, not from the checkout.
    where = _run(
        bin_dir / "python", "-c", "import tap_recras; print(tap_recras.__file__)", cwd=tmp_path
    )
    assert where.startswith(str(env_dir))

    about = json.loads(_run(bin_dir / "tap-recras", "--about", "--format=json", cwd=tmp_path))
    version = _run(bin_dir / "python", "-c",
                   "import importlib.metadata as m; print(m.version('recras-singer'))",
                   cwd=tmp_path).strip()  # fmt: skip
    assert about["name"] == "tap-recras" and about["version"] == version
    assert "target-recras" in _run(bin_dir / "target-recras", "--about", cwd=tmp_path)
    spec = json.loads(_run(bin_dir / "source-recras", "spec", cwd=tmp_path).splitlines()[-1])
    assert spec["spec"]["documentationUrl"].startswith("https://")

    # A pipeline with the installed sandbox: tap -> target (dry run), from tmp_path.
    code = (
        "import json, subprocess, sys\n"
        "from recras_sandbox.testing import SandboxProcess\n"
        "with SandboxProcess(customers=12) as sandbox:\n"
        "    json.dump(sandbox.config(), open('tap.json', 'w'))\n"
        "    json.dump(sandbox.config(dry_run=True), open('target.json', 'w'))\n"
        "    bin = sys.argv[1]\n"
        "    tap = subprocess.run([bin + '/tap-recras', '--config', 'tap.json'],\n"
        "                         capture_output=True, check=True, timeout=120)\n"
        "    target = subprocess.run([bin + '/target-recras', '--config', 'target.json'],\n"
        "                            input=tap.stdout, capture_output=True, timeout=120)\n"
        "    sys.stdout.write(target.stderr.decode())\n"
        "    sys.exit(target.returncode)\n"
    )
    log = _run(bin_dir / "python", "-c", code, str(bin_dir), cwd=tmp_path)
    # Every customer planned as an update (the tap's records carry their Recras id); the
    # contact-person stream is rejected with its hint, as the target documents.
    assert "dry run: 0 would be created, 12 updated" in log, log[-3000:]


def test_the_version_is_written_once_in_pyproject() -> None:
    """Code reads the version from the installed metadata; no module repeats it."""
    assert recras_sandbox.__version__ == importlib.metadata.version("recras-singer")
    sources = [path for package in PACKAGES for path in (ROOT / package).glob("*.py")]
    assert sources
    for path in sources:
        assert '__version__ = "' not in path.read_text(encoding="utf-8"), path
