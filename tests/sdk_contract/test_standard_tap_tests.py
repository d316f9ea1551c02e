"""The Singer SDK's standard tap tests, run against a recras-sandbox process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.testing import get_tap_test_class

from recras_sandbox.testing import SandboxProcess
from tap_recras.tap import TapRecras

# The SDK builds the test class (and a tap, to list the streams) at import time, when no
# sandbox runs yet; the fixture below points this same dict at one before any test runs.
CONFIG: dict[str, Any] = {"base_url": "http://127.0.0.1:9", "api_key": "not-started-yet"}


@pytest.fixture(scope="module", autouse=True)
def _sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess(customers=200) as sandbox:
        CONFIG.update(sandbox.config())
        yield sandbox


def _every_stream_selected() -> dict[str, Any]:
    """The discovered catalog (no server needed) with every stream selected.

    The streams beyond klanten are not selected by default, and the SDK's dry run selects
    them only after their stream maps dropped every property of a deselected stream.
    """
    catalog: dict[str, Any] = TapRecras(config=CONFIG).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
    return catalog


TestTapRecras = get_tap_test_class(TapRecras, config=CONFIG, catalog=_every_stream_selected())
