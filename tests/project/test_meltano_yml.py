"""meltano.yml stays true to the code: fast checks, no Meltano run (tests/e2e runs Meltano).

* it is valid for Meltano (its own JSON schema, from the installed Meltano);
* tap-recras and target-recras declare exactly the settings, secrets, required settings and
  capabilities the plugins report with ``--about``;
* plugins from the package registry are pinned; jobs and schedules name real plugins and jobs;
* the hourly and nightly jobs select every stream the tap discovers, with the replication
  meant for each.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import yaml

# The Hub files use the same table and read the same --about.
from hub_definitions import KIND_FOR_TYPE
from hub_definitions import about as plugin_about
from support.meltano import HOURLY_STREAMS, NIGHTLY_STREAMS
from support.paths import ROOT

from tap_recras.testing import make_catalog

MELTANO_YML = ROOT / "meltano.yml"

#: Built-in SDK settings a project may leave undeclared (Meltano passes them through anyway).
SDK_BUILTINS = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_config",
    "validate_records",
    "add_record_metadata",
    "load_method",
    "batch_size_rows",
    "process_activate_version_messages",
    "hard_delete",
}


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(MELTANO_YML.read_text(encoding="utf-8"))
    return data


def _plugins(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for kind in ("extractors", "loaders"):
        for plugin in project["plugins"][kind]:
            found[plugin["name"]] = plugin
    return found


def _json_types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if declared is None and "anyOf" in schema:
        types: set[str] = set()
        for option in schema["anyOf"]:
            types |= _json_types(option)
        return types
    if isinstance(declared, str):
        return {declared}
    return set(declared or [])


def test_meltano_yml_is_valid_for_meltano(
    project: dict[str, Any], meltano_schema: dict[str, Any]
) -> None:
    jsonschema.validate(project, meltano_schema)


def test_default_environment_exists(project: dict[str, Any]) -> None:
    names = {env["name"] for env in project["environments"]}
    assert project["default_environment"] in names


@pytest.mark.slow
@pytest.mark.parametrize("plugin_name", ["tap-recras", "target-recras"])
def test_recras_plugins_declare_what_the_code_has(
    project: dict[str, Any], meltano_schema: dict[str, Any], plugin_name: str
) -> None:
    plugin = _plugins(project)[plugin_name]
    about = plugin_about(plugin["executable"])
    properties: dict[str, Any] = about["settings"]["properties"]
    declared = {setting["name"]: setting for setting in plugin["settings"]}

    own = set(properties) - SDK_BUILTINS
    assert own <= set(declared), f"undeclared in meltano.yml: {sorted(own - set(declared))}"
    unknown = set(declared) - set(properties)
    assert not unknown, f"declared in meltano.yml but unknown to {plugin_name}: {unknown}"

    for name, setting in declared.items():
        schema = properties[name]
        types = _json_types(schema) - {"null"}
        expected = {KIND_FOR_TYPE[t] for t in types if t in KIND_FOR_TYPE}
        assert setting.get("kind") in expected, f"{name}: kind {setting.get('kind')}, {types}"
        secret = bool(schema.get("secret") or schema.get("writeOnly"))
        assert bool(setting.get("sensitive")) == secret, f"{name}: sensitive must be {secret}"

    # Every required setting is in every settings group; the groups are the two auth ways.
    required = set(about["settings"].get("required", []))
    groups = [set(group) for group in plugin["settings_group_validation"]]
    assert all(required <= group for group in groups)
    assert {"api_key"} <= groups[0] and {"username", "password"} <= groups[1]

    # Capabilities: exactly what the plugin reports, as far as Meltano knows them.
    kind = "extractors" if plugin_name.startswith("tap-") else "loaders"
    known = _meltano_capabilities(meltano_schema, kind)
    assert set(plugin["capabilities"]) == set(about["capabilities"]) & known


def _meltano_capabilities(meltano_schema: dict[str, Any], kind: str) -> set[str]:
    definition = meltano_schema["$defs"]["plugins"][kind]
    for part in definition["allOf"]:
        caps = part.get("properties", {}).get("capabilities")
        if caps:
            return set(caps["items"]["enum"])
    raise AssertionError(f"no capabilities enum for {kind}")


def test_registry_plugins_are_pinned(project: dict[str, Any]) -> None:
    for name, plugin in _plugins(project).items():
        if "inherit_from" in plugin:
            continue
        pip_url = plugin["pip_url"]
        pins = pip_url.split()
        assert pip_url in {"-e .", "-e .[postgres]"} or all(
            re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in pins
        ), (
            name,
            pip_url,
        )


def test_jobs_and_schedules_name_real_plugins(project: dict[str, Any]) -> None:
    plugins = _plugins(project)
    for plugin in plugins.values():
        if "inherit_from" in plugin:
            assert plugin["inherit_from"] in plugins
    jobs = {job["name"]: job for job in project["jobs"]}
    for job in jobs.values():
        for task in job["tasks"]:
            for name in task.split():
                assert name in plugins, (job["name"], name)
    intervals = {}
    for schedule in project["schedules"]:
        assert schedule["job"] in jobs
        intervals[schedule["job"]] = schedule["interval"]
    assert intervals == {
        "recras-to-warehouse": "@hourly",
        "recras-to-warehouse-full": intervals["recras-to-warehouse-full"],
    }
    assert re.fullmatch(r"\d+ \d+ \* \* \*", intervals["recras-to-warehouse-full"])  # nightly


def test_full_table_plugin_forces_full_table(project: dict[str, Any]) -> None:
    plugin = _plugins(project)["tap-recras-full"]
    assert plugin["inherit_from"] == "tap-recras"
    assert plugin["metadata"]["*"]["replication-method"] == "FULL_TABLE"
    # Meltano merges the inherited metadata: what tap-recras reads incrementally must say
    # FULL_TABLE here by name.
    inherited = _plugins(project)["tap-recras"].get("metadata", {})
    for stream in inherited:
        assert plugin["metadata"][stream]["replication-method"] == "FULL_TABLE", stream


def test_export_extractors_share_one_stream_map(project: dict[str, Any]) -> None:
    plugins = _plugins(project)
    jsonl = plugins["tap-customers-export"]
    postgres = plugins["tap-postgres-customers"]
    assert jsonl["config"]["stream_maps"] == postgres["config"]["stream_maps"]
    assert jsonl["schema"] == postgres["schema"]
    stream_map = jsonl["config"]["stream_maps"]["*export_customers"]
    assert stream_map["__alias__"] == "klanten"
    assert stream_map["__key_properties__"] == ["external_id"]
    # __else__: __NULL__ would reset the schema and lose the declared array type.
    assert "__else__" not in stream_map
    assert jsonl["schema"]["*export_customers"]["contactpersonen"]["type"] == "array"


@pytest.fixture(scope="module")
def discovered_streams() -> dict[str, dict[str, Any]]:
    """The tap's catalog entries by stream (discovery reads no Recras)."""
    catalog = make_catalog({"base_url": "http://127.0.0.1:9", "api_key": "unused"})
    return {entry["tap_stream_id"]: entry for entry in catalog["streams"]}


def _selected_streams(plugin: dict[str, Any]) -> set[str]:
    patterns = plugin["select"]
    assert all(pattern.endswith(".*") for pattern in patterns), patterns
    return {pattern.removesuffix(".*") for pattern in patterns}


def test_hourly_and_nightly_jobs_select_every_stream(
    project: dict[str, Any], discovered_streams: dict[str, dict[str, Any]]
) -> None:
    plugins = _plugins(project)
    hourly = _selected_streams(plugins["tap-recras"])
    nightly = _selected_streams(plugins["tap-recras-full"])
    # Issue 21's sets: the hourly job reads what grows, incrementally; the nightly job reads in
    # full what incremental runs miss (changed and deleted customers and bookings, concept
    # invoices, the reference tables without any change marker).
    assert (hourly, nightly) == (set(HOURLY_STREAMS), set(NIGHTLY_STREAMS))
    assert hourly | nightly == set(discovered_streams)


def test_hourly_job_reads_bookings_incrementally_by_id(
    project: dict[str, Any], discovered_streams: dict[str, dict[str, Any]]
) -> None:
    metadata = _plugins(project)["tap-recras"]["metadata"]
    assert metadata == {"boekingen": {"replication-method": "INCREMENTAL", "replication-key": "id"}}
    (stream_metadata,) = (
        item["metadata"]
        for item in discovered_streams["boekingen"]["metadata"]
        if item["breadcrumb"] == []
    )
    assert "id" in stream_metadata["valid-replication-keys"]
