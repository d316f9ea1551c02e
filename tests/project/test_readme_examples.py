"""What the README shows works: its meltano.yml example, its links, its commands and scripts."""

from __future__ import annotations

import copy
import re
import subprocess
from typing import Any

import jsonschema
import pytest
import yaml
from support.documents.markdown import fenced_blocks, heading_anchors
from support.documents.readme import README, section
from support.paths import ROOT

from tap_recras.testing import make_catalog


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_scaling_example_extends_meltano_yml_validly(meltano_schema: dict[str, Any]) -> None:
    """The many-instances example, merged into meltano.yml, is a valid Meltano project."""
    (block,) = fenced_blocks(
        section("Scaling out: workers, containers and many Recras instances"), "yaml"
    )
    example = yaml.safe_load(block)
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    merged = copy.deepcopy(project)
    for kind in ("extractors", "loaders"):
        merged["plugins"][kind] += example["plugins"].get(kind, [])
    merged["jobs"] += example["jobs"]
    merged["schedules"] += example["schedules"]
    jsonschema.validate(merged, meltano_schema)

    plugins = {p["name"]: p for kind in ("extractors", "loaders") for p in merged["plugins"][kind]}
    for plugin in example["plugins"]["extractors"] + example["plugins"]["loaders"]:
        assert plugin["inherit_from"] in plugins
    jobs = {job["name"] for job in merged["jobs"]}
    for job in example["jobs"]:
        for task in job["tasks"]:
            assert all(name in plugins for name in task.split()), task
    assert all(schedule["job"] in jobs for schedule in example["schedules"])
    # Every writing instance has an id map of its own.
    id_maps = [
        p["config"]["id_map_path"]
        for p in example["plugins"]["loaders"]
        if p["inherit_from"] == "target-recras"
    ]
    assert id_maps
    assert project["plugins"]["loaders"][0]["config"]["id_map_path"] not in id_maps


def test_stream_map_example_matches_meltano_yml() -> None:
    """The stream map quoted in the README is the one meltano.yml uses."""
    (block,) = fenced_blocks(section("Reverse ETL from a database or a file export"), "yaml")
    quoted = yaml.safe_load(block)
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    plugin = next(
        p for p in project["plugins"]["extractors"] if p["name"] == "tap-customers-export"
    )
    real_map = plugin["config"]["stream_maps"]["*export_customers"]
    for key, value in quoted["stream_maps"]["*export_customers"].items():
        assert real_map[key] == value, key
    assert quoted["schema"] == plugin["schema"]


def test_relative_links_exist(readme: str) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (ROOT / target).exists(), f"README links to missing {target}"


def test_anchor_links_exist(readme: str) -> None:
    headings = heading_anchors(readme)
    for anchor in re.findall(r"\]\(#([^)]+)\)", readme):
        assert anchor in headings, f"README links to missing heading #{anchor}"


def test_named_scripts_exist_and_are_executable(readme: str) -> None:
    for script in set(re.findall(r"\./scripts/[\w.]+", readme)):
        path = ROOT / script
        assert path.exists(), script
        assert path.stat().st_mode & 0o111, f"{script} is not executable"


def test_meltano_commands_name_real_plugins_and_jobs(readme: str) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    names = {p["name"] for kind in ("extractors", "loaders") for p in project["plugins"][kind]}
    names |= {job["name"] for job in project["jobs"]}
    for args in re.findall(r"meltano (?:--\S+ )*run (?:--\S+ )*([\w\- ]+)", readme):
        for name in args.split():
            if name.startswith(("tap-", "target-", "recras-", "export-", "postgres-")):
                assert name in names or "amsterdam" in name or "utrecht" in name, name


def test_demo_script_help_mentions_its_options() -> None:
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "scripts" / "recras_demo.py"), "-h"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for option in ("--customers", "--bookings", "--add", "--seed", "--workdir"):
        assert option in proc.stdout


def test_stream_table_shows_every_stream_with_its_key_and_cost() -> None:
    """README's stream table: a row for every stream the tap discovers, with the catalog's key,
    its replication and what it costs in requests."""
    catalog = make_catalog({"base_url": "http://127.0.0.1:9", "api_key": "unused"})
    table = section("tap-recras").split("### Streams", 1)[1].split("\n### ", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `")]
    documented: dict[str, tuple[str, str, str]] = {}
    for streams, key, replication, requests, _ in rows:
        for stream in re.findall(r"`(\w+)`", streams):
            documented[stream] = (key, replication, requests)
    assert set(documented) == {entry["tap_stream_id"] for entry in catalog["streams"]}
    for entry in catalog["streams"]:
        key, replication, requests = documented[entry["tap_stream_id"]]
        assert re.findall(r"`(\w+)`", key) == entry["key_properties"], entry["tap_stream_id"]
        assert replication and requests, entry["tap_stream_id"]
