"""The package as PyPI would ship it: built, checked, installed into a fresh venv, run outside
the checkout.

``python -m build`` makes the sdist and the wheel once per module (into a temporary folder);
``twine check --strict`` reads both as the package index would, and the wheel's METADATA is
compared with pyproject.toml. The wheel is installed into a new venv, also once per module, by
the running pip, with its dependencies resolved from the package index (pip's cache makes a
rerun fast; no package comes from the project's venv). Every command then runs with the working
directory in a temporary folder, so nothing is imported from the checkout: ``tap-recras
--about``, ``target-recras --about``, ``source-recras spec``, ``recras-sandbox --help``, and a
pipeline from the installed ``recras-sandbox`` through ``tap-recras`` into ``target-recras``
(dry run).

The sdist holds what builds the wheel and what its metadata names (pyproject.toml, LICENSE,
the README files): not the tests, which need the repository around them (scripts/, meltano.yml,
demo/, the peer venvs of scripts/install_peers.sh) and are run from a clone.
"""

from __future__ import annotations

import email.message
import email.parser
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.documents.markdown import relative_links
from support.documents.pyproject import project_metadata
from support.paths import ROOT

import recras_sandbox

# One worker builds and installs the package, once: the module's fixtures (a build, a venv and
# a pip install: most of a minute) would run again on every worker that took one of its tests.
pytestmark = pytest.mark.xdist_group("package")

#: The import packages the distribution ships.
PACKAGES = ("recras_api", "tap_recras", "target_recras", "recras_sandbox", "airbyte_recras")
#: Everything at the top of the sdist: what builds the wheel, and setuptools' own metadata.
SDIST_TOP_LEVEL = {
    *PACKAGES,
    "pyproject.toml",
    "LICENSE",
    "README.md",
    "docs",  # only docs/pypi.md, the long description
    "PKG-INFO",
    "setup.cfg",
    "recras_singer.egg-info",  # written by the sdist build itself, not the checkout's
}


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass(frozen=True)
class Artifacts:
    """What ``python -m build`` made."""

    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class InstalledWheel:
    """A venv outside the checkout with the wheel installed, and a folder to run commands in."""

    bin_dir: Path
    workdir: Path

    def run(self, executable: str, *args: str) -> str:
        """``executable`` of the venv, run in the work folder."""
        return _run(self.bin_dir / executable, *args, cwd=self.workdir)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """The sdist and wheel, built from the checkout."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Artifacts(wheel=wheel, sdist=sdist)


@pytest.fixture(scope="module")
def wheel_metadata(dist: Artifacts) -> email.message.Message:
    """The wheel's ``METADATA``: headers, and the long description as the body."""
    with zipfile.ZipFile(dist.wheel) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(whl.read(name).decode())


@pytest.fixture(scope="module")
def installed(dist: Artifacts, tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """The wheel in a fresh venv; the venv and the work folder are outside the checkout."""
    env_dir = tmp_path_factory.mktemp("venv")
    workdir = tmp_path_factory.mktemp("work")
    # No pip of its own (ensurepip takes longer than the rest of the venv): the running pip
    # installs into it. The packages all come from the index, none from the running venv.
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / "bin"
    _run(sys.executable, "-m", "pip", "--python", bin_dir / "python", "install", "--quiet",
         dist.wheel, cwd=workdir, timeout=600)  # fmt: skip
    return InstalledWheel(bin_dir=bin_dir, workdir=workdir)


@pytest.mark.slow
def test_twine_accepts_the_sdist_and_the_wheel(dist: Artifacts) -> None:
    """What the package index checks on upload, warnings counted as errors (--strict): the
    metadata, and that the long description renders."""
    out = _run(sys.executable, "-m", "twine", "check", "--strict", dist.wheel, dist.sdist,
               cwd=dist.wheel.parent)  # fmt: skip
    assert out.count("PASSED") == 2, out


@pytest.mark.slow
def test_the_wheel_metadata_is_pyprojects(wheel_metadata: email.message.Message) -> None:
    project = project_metadata()
    assert wheel_metadata["Name"] == project["name"]
    assert wheel_metadata["License-Expression"] == project["license"]
    assert wheel_metadata.get_all("License-File") == project["license-files"]
    urls = [tuple(u.split(", ", 1)) for u in wheel_metadata.get_all("Project-URL") or []]
    assert urls == list(project["urls"].items())
    assert wheel_metadata.get_all("Classifier") == project["classifiers"]
    assert wheel_metadata["Requires-Python"] == project["requires-python"]
    assert wheel_metadata["Description-Content-Type"].startswith("text/markdown")
    # The long description is pyproject's readme, and links only absolute URLs: a relative
    # link resolves against the package index, where the repository's files are not.
    description = str(wheel_metadata.get_payload())
    assert description.strip() == (ROOT / project["readme"]).read_text(encoding="utf-8").strip()
    assert not relative_links(description)


@pytest.mark.slow
def test_the_wheel_carries_every_package_and_nothing_else(dist: Artifacts) -> None:
    with zipfile.ZipFile(dist.wheel) as whl:
        names = whl.namelist()
    assert {n.split("/")[0] for n in names} == {*PACKAGES, "recras_singer-0.1.0.dist-info"}
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.slow
def test_the_sdist_holds_the_sources_and_nothing_else(dist: Artifacts) -> None:
    with tarfile.open(dist.sdist) as tar:
        # Every member is under <name>-<version>/.
        members = [m.partition("/")[2] for m in tar.getnames()]
    assert {m.split("/")[0] for m in members if m} == SDIST_TOP_LEVEL
    assert [m for m in members if m.startswith("docs/")] == ["docs/pypi.md"]
    for package in PACKAGES:
        assert f"{package}/__init__.py" in members
    assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc")]


def test_build_leftovers_in_the_checkout_are_ignored_by_git() -> None:
    """``python -m build`` and ``pip install -e`` write these next to pyproject.toml."""
    leftovers = ["build/", "dist/", "recras_singer.egg-info/"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *leftovers], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.stdout.split() == leftovers, done.stderr


@pytest.mark.slow
def test_the_installed_executables_run_outside_the_checkout(installed: InstalledWheel) -> None:
    # Imported from the venv, not from the checkout.
    where = installed.run("python", "-c", "import tap_recras; print(tap_recras.__file__)")
    assert where.startswith(str(installed.bin_dir.parent))

    version = installed.run(
        "python", "-c", "import importlib.metadata as m; print(m.version('recras-singer'))"
    ).strip()
    about = json.loads(installed.run("tap-recras", "--about", "--format=json"))
    assert about["name"] == "tap-recras" and about["version"] == version
    assert installed.run("tap-recras", "--about").startswith("Name: tap-recras")
    assert installed.run("target-recras", "--about").startswith("Name: target-recras")

    (spec,) = [json.loads(line) for line in installed.run("source-recras", "spec").splitlines()]
    assert spec["type"] == "SPEC"
    assert spec["spec"]["documentationUrl"] == project_metadata()["urls"]["Documentation"]
    assert "base_url" in spec["spec"]["connectionSpecification"]["properties"]

    sandbox_help = installed.run("recras-sandbox", "--help")
    assert sandbox_help.startswith("usage: recras-sandbox") and "--customers" in sandbox_help


@pytest.mark.slow
def test_the_installed_wheel_runs_a_pipeline(installed: InstalledWheel) -> None:
    """The installed sandbox, tap-recras into target-recras (dry run), from the work folder."""
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
    log = installed.run("python", "-c", code, str(installed.bin_dir))
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
