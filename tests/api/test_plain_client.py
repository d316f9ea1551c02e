"""recras_api's HTTP client does not depend on singer-sdk.

The client, its settings and errors are plain ``requests`` code that any program can use;
only the plugin glue (``recras_api.plugin.settings``, ``recras_api.plugin.sdk_compat``,
``recras_api.plugin.metrics``) imports the
SDK, and nothing in the client imports that glue. Each check runs in a fresh interpreter, so
what another test imported cannot hide an import.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import recras_api

#: Every module of the package but the plugin glue, found on disk so a new module is checked too.
SDK_FREE_MODULES = (
    "recras_api",
    *(
        f"recras_api.{info.name}"
        for info in pkgutil.iter_modules(recras_api.__path__)
        if info.name != "plugin"
    ),
)


def loaded_modules(module: str) -> list[str]:
    """The modules a fresh interpreter has loaded after importing ``module``."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("module", SDK_FREE_MODULES)
def test_importing_the_client_side_loads_neither_singer_sdk_nor_the_plugin_glue(
    module: str,
) -> None:
    loaded = loaded_modules(module)
    sdk = [name for name in loaded if name.split(".")[0] == "singer_sdk"]
    assert sdk == [], f"importing {module} loaded {sdk[:5]}"
    glue = [name for name in loaded if name.startswith("recras_api.plugin")]
    assert glue == [], f"importing {module} loaded {glue}"


def test_the_plugin_glue_is_where_the_sdk_is_used() -> None:
    # The other side of the split: the plugins get their settings schema from the glue.
    loaded = loaded_modules("recras_api.plugin.settings")
    assert "singer_sdk.typing" in loaded
