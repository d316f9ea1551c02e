"""SPEC: the Singer plugin's settings schema as an Airbyte ``connectionSpecification``.

The settings are the plugin's own (``config_jsonschema`` with the SDK's built-in settings
such as ``stream_maps``), so a config works for the Singer plugin and the Airbyte connector
alike. Two changes make it what Airbyte expects:

* settings the plugin marks ``secret`` are marked ``airbyte_secret`` (Airbyte masks them in
  its UI and logs);
* the schema is made valid JSON Schema: singer-sdk 0.54's ``stream_maps`` schema lists a
  bare ``"null"`` among the alternatives of an ``anyOf`` (an alternative must be a schema,
  and PyAirbyte's validator rejects the whole spec). A bare type name in ``anyOf``,
  ``oneOf`` or ``allOf`` becomes ``{"type": name}``, dropped where that is already listed.
"""

from __future__ import annotations

import copy
from importlib import metadata
from typing import Any

from singer_sdk.plugin_base import PluginBase

from recras_api.settings import DISTRIBUTION

#: JSON Schema draft that Airbyte specs declare.
DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_COMBINATORS = ("anyOf", "oneOf", "allOf")


def documentation_url() -> str:
    """The package's documentation page (its ``Documentation`` Project-URL)."""
    try:
        urls = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation":
            return url.strip()
    return "https://pypi.org/project/recras-singer/"


def spec_message(plugin: type[PluginBase], title: str, **capabilities: Any) -> dict[str, Any]:
    """The SPEC message of the connector wrapping ``plugin``, with its ``capabilities``.

    The settings include the SDK's built-in ones (``stream_maps`` ...), as the plugin's
    ``--about`` lists them, on a copy: the plugin's own schema is left as it is.
    """
    settings = copy.deepcopy(plugin.config_jsonschema)
    plugin.append_builtin_config(settings)
    return {
        "type": "SPEC",
        "spec": {
            "documentationUrl": documentation_url(),
            "connectionSpecification": connection_specification(settings, title),
            **capabilities,
        },
    }


def connection_specification(settings_schema: dict[str, Any], title: str) -> dict[str, Any]:
    """The ``connectionSpecification`` for a plugin's complete settings schema."""
    schema = valid_json_schema(copy.deepcopy(settings_schema))
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict) and prop.get("secret"):
            prop["airbyte_secret"] = True
    return {
        "$schema": DRAFT_07,
        "title": title,
        "type": "object",
        "required": list(schema.get("required", [])),
        "properties": schema.get("properties", {}),
        "additionalProperties": True,
    }


def valid_json_schema(schema: Any) -> Any:
    """``schema`` with bare type names in ``anyOf``/``oneOf``/``allOf`` made schemas."""
    if isinstance(schema, list):
        return [valid_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    fixed: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _COMBINATORS and isinstance(value, list):
            options: list[Any] = []
            for option in value:
                candidate = {"type": option} if isinstance(option, str) else option
                candidate = valid_json_schema(candidate)
                if candidate not in options:
                    options.append(candidate)
            fixed[key] = options
        else:
            fixed[key] = valid_json_schema(value)
    return fixed
