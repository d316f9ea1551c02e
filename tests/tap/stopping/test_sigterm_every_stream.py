"""SIGTERM on the new streams while stdout is full: exit 143 without a deadlock, as for customers.

Stopped while nobody reads its stdout during the booking or the invoice list (with their
children's requests on worker threads), the tap must still end within its grace period.
Children that hang when the stop comes: tests/tap/stopping/test_sigterm_hanging_details.py.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from support.catalogs import catalog_of
from support.sandbox import SandboxFactory

from recras_api.plugin.termination import GRACE_SECONDS
from tap_recras.testing import start_tap

pytestmark = pytest.mark.slow

#: The grace period and a margin for a busy machine (a deadlocked tap never ends at all).
ENDS_WITHIN = GRACE_SECONDS + 12


@pytest.mark.parametrize(
    ("streams", "route"),
    [
        (("boekingen", "boekingsregels"), "GET /api2/boekingen"),
        (("facturen", "betalingen"), "GET /api2/facturen"),
    ],
    ids=["boekingen", "facturen"],
)
def test_sigterm_while_stdout_is_full_exits_143_without_deadlock(
    sandbox_factory: SandboxFactory, tmp_path: Path, streams: tuple[str, ...], route: str
) -> None:
    sandbox = sandbox_factory(customers=500, bookings=1000)
    config = sandbox.config(max_workers=2)
    catalog = catalog_of(streams)
    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(tmp_path, config, catalog=catalog, stderr=log, log_level="INFO")
        try:
            deadline = time.monotonic() + 60
            while route not in sandbox.stats()["requests"]:
                assert time.monotonic() < deadline, f"the tap never asked {route}"
                time.sleep(0.05)
            time.sleep(1.0)  # the records fill the pipe; the tap blocks writing
            assert process.poll() is None, "the tap ended before it could be stopped"
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=ENDS_WITHIN)
        finally:
            process.kill()
            process.communicate()
    assert process.returncode == 143, (tmp_path / "stderr.log").read_text()[-2000:]
    assert config["api_key"] not in (tmp_path / "stderr.log").read_text()
