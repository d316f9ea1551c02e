"""Writes (or, with --check, verifies) the Meltano Hub definitions in hub/.

``hub/extractors/tap-recras.yml`` and ``hub/loaders/target-recras.yml`` are in the Hub's
plugin definition format, the files ``meltano add --from-ref <url>`` reads. Everything
the plugins know about themselves comes from ``<plugin> --about --format=json`` (settings
with kind, label, description, default and sensitivity; capabilities as far as Meltano
knows them); the addresses (repo, docs, pip_url from git) come from pyproject.toml's
``[project.urls]``. ``tests/e2e/test_meltano_hub.py`` runs ``--check``, so a setting added to a
plugin without regenerating fails CI.

Usage: .venv/bin/python scripts/hub_definitions.py [--check]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MELTANO_SCHEMAS = ROOT / ".venv-meltano"

#: Meltano setting kind for each JSON Schema type.
KIND_FOR_TYPE = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "object": "object",
    "array": "array",
}
#: The two ways to authenticate: an API key, or (deprecated) username and password.
AUTH_GROUPS = (["api_key"], ["username", "password"])

PLUGINS = {
    "tap-recras": {
        "kind": "extractors",
        "label": "Recras",
        "description": "Customers (klanten) and their contact persons from Recras API2",
        "anchor": "tap-recras",
    },
    "target-recras": {
        "kind": "loaders",
        "label": "Recras",
        "description": "Create and update Recras customers (klanten) from any Singer stream",
        "anchor": "target-recras",
    },
}


def project_urls() -> dict[str, str]:
    """``[project.urls]`` of pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        urls: dict[str, str] = tomllib.load(file)["project"]["urls"]
    return urls


def about_text(executable: str, output_format: str) -> str:
    """``<executable> --about --format=<output_format>``: the venv's console script, else PATH's.

    Also what scripts/readme_settings.py reads (the markdown) and tests/project/test_meltano_yml.py
    (the JSON).
    """
    candidate = BIN / executable
    command = str(candidate) if candidate.exists() else executable
    done = subprocess.run(
        [command, "--about", f"--format={output_format}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        msg = f"{executable} --about --format={output_format} failed:\n{done.stderr}"
        raise RuntimeError(msg)
    return done.stdout


def about(executable: str) -> dict[str, Any]:
    """``<executable> --about --format=json``, parsed."""
    result: dict[str, Any] = json.loads(about_text(executable, "json"))
    return result


def meltano_capabilities(kind: str) -> set[str]:
    """The capabilities Meltano's project schema knows for ``kind`` (extractors, loaders)."""
    schemas = list(
        MELTANO_SCHEMAS.glob("lib/python3*/site-packages/meltano/schemas/meltano.schema.json")
    )
    if not schemas:
        raise SystemExit(
            "Meltano is not installed in .venv-meltano: run ./scripts/install_meltano.sh"
        )
    schema = json.loads(schemas[0].read_text(encoding="utf-8"))
    for part in schema["$defs"]["plugins"][kind]["allOf"]:
        caps = part.get("properties", {}).get("capabilities")
        if caps:
            return set(caps["items"]["enum"])
    raise SystemExit(f"Meltano's schema lists no capabilities for {kind}")


def _kind(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    if not types and "anyOf" in schema:
        types = [o.get("type") for o in schema["anyOf"] if isinstance(o, dict) and "type" in o]
    kinds = [KIND_FOR_TYPE[t] for t in types if isinstance(t, str) and t in KIND_FOR_TYPE]
    return kinds[0] if kinds else "object"


def setting(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """One Hub setting from one property of the plugin's settings schema."""
    entry: dict[str, Any] = {
        "name": name,
        "kind": _kind(schema),
        "label": schema.get("title") or name.replace("_", " ").capitalize(),
        "description": " ".join(str(schema.get("description", "")).split()),
        "sensitive": bool(schema.get("secret") or schema.get("writeOnly")),
    }
    if schema.get("default") is not None:
        entry["value"] = schema["default"]
    return entry


def definition(name: str) -> dict[str, Any]:
    """The Hub definition of one plugin."""
    plugin = PLUGINS[name]
    info = about(name)
    urls = project_urls()
    repo = urls["Repository"]
    settings = info["settings"]
    required = list(settings.get("required", []))
    known = meltano_capabilities(plugin["kind"])
    return {
        "name": name,
        "namespace": name.replace("-", "_"),
        "variant": repo.rstrip("/").split("/")[-2],
        "label": plugin["label"],
        "description": plugin["description"],
        "logo_url": "https://www.recras.nl/favicon.ico",
        "domain_url": "https://www.recras.nl",
        "docs": f"{repo}#{plugin['anchor']}",
        "repo": repo,
        "pip_url": f"git+{repo}.git",
        "executable": name,
        "keywords": ["meltano_sdk"],
        "maintenance_status": "active",
        "capabilities": [c for c in info["capabilities"] if c in known],
        "settings_group_validation": [required + group for group in AUTH_GROUPS],
        "settings": [setting(key, value) for key, value in settings["properties"].items()],
    }


def path_of(name: str) -> Path:
    """Where the definition of ``name`` lives."""
    return ROOT / "hub" / PLUGINS[name]["kind"] / f"{name}.yml"


def render(name: str) -> str:
    """The YAML text of the definition (with a header saying it is generated)."""
    header = (
        "# Generated by scripts/hub_definitions.py from `%s --about --format=json`; do not edit.\n"
    )
    body = yaml.safe_dump(definition(name), sort_keys=False, allow_unicode=True, width=100)
    return header % name + body


def main() -> int:
    """Write the files, or with ``--check`` report those that differ (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args()
    stale = []
    for name in PLUGINS:
        path, text = path_of(name), render(name)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(
            f"Out of date: {', '.join(stale)}. Run .venv/bin/python scripts/hub_definitions.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
