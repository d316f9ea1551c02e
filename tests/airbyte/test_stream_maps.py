"""source-recras with the tap's ``stream_maps`` setting on a stream not selected by default.

The settings are the tap's, ``stream_maps`` included. The SDK builds a map against the
selected schema of each stream; the bookings, invoices and reference tables are not selected
in the discovered catalog, so a tap made only to discover (no catalog) must not build the
maps, as the SDK's own ``--discover`` does not: ``check``, ``discover`` and ``read`` work, and
the read applies the map.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.airbyte import configured_catalog, discover, run_connector, write_json
from support.sandbox import SandboxFactory

pytestmark = pytest.mark.slow

#: Keep the bookings with an even id, without their remarks.
MAPS = {"boekingen": {"__filter__": "id % 2 == 0", "bijzonderheden": None}}


def test_a_stream_map_on_a_stream_not_selected_by_default_is_applied(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=5, bookings=8)
    config = write_json(tmp_path / "config.json", recras.config(stream_maps=MAPS))
    checked = run_connector("source-recras", "check", "--config", config)
    assert checked.status["status"] == "SUCCEEDED", checked.status
    catalog = configured_catalog(discover(config), {"boekingen": "incremental"})
    done = run_connector(
        "source-recras", "read", "--config", config,
        "--catalog", write_json(tmp_path / "catalog.json", catalog),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    even = {row["id"] for row in recras.rows("boekingen") if row["id"] % 2 == 0}
    assert {row["id"] for row in done.records("boekingen")} == even
    assert all("bijzonderheden" not in row for row in done.records("boekingen"))
