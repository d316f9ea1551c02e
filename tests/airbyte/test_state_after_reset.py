"""After Airbyte resets (clears) a stream, its state comes back as ``stream_state: null``.

The platform's reset writes a STREAM state with a null ``stream_state`` for each stream it
clears (the protocol's ``AirbyteStreamState.stream_state`` is optional) and passes it to the
next read with the other streams' states. That read must succeed, read the cleared stream
(and the family it is read with) from the start, and resume every other stream.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.airbyte import (
    KeptState,
    configured_catalog,
    discover,
    run_connector,
    write_json,
)
from support.sandbox import SandboxFactory

pytestmark = pytest.mark.slow

STREAMS = ["boekingen", "boekingsregels", "facturen", "factuurregels"]


def test_a_reset_streams_null_state_reads_it_from_the_start_and_resumes_the_others(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    recras = sandbox_factory(customers=10, bookings=12)
    config = write_json(tmp_path / "config.json", recras.config(max_workers=2))
    catalog = configured_catalog(discover(config), dict.fromkeys(STREAMS, "incremental"))
    args = ["--config", config, "--catalog", write_json(tmp_path / "catalog.json", catalog)]
    first = run_connector("source-recras", "read", *args, timeout=180)
    assert first.returncode == 0, first.stdout[-2000:]
    kept = KeptState()
    kept.keep(first.messages)
    new_booking, *_ = recras.add_bookings(1)
    # Reset boekingsregels: its state is cleared, as the platform writes it.
    kept.states["boekingsregels"]["stream"]["stream_state"] = None
    again = run_connector(
        "source-recras", "read", *args, *kept.arguments(tmp_path / "state.json"), timeout=180
    )
    assert again.returncode == 0, again.stdout[-2000:]
    assert len(again.records("boekingsregels")) == len(recras.rows("boekingsregels"))
    assert {row["id"] for row in again.records("boekingen")} == {
        row["id"] for row in recras.rows("boekingen")
    }
    # The invoices resume: nothing is dated after the first read's bookmark.
    assert len(again.records("facturen")) < len(first.records("facturen"))
    assert new_booking in {row["id"] for row in again.records("boekingen")}
