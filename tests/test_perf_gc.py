"""The tap lists customers with a lenient garbage collector and restores it after (issue 13).

``KlantenStream.get_records`` freezes what start-up allocated and raises the collector's first
threshold for the listing (tap_recras/collector.py); afterwards, also when the sync fails, the
thresholds and the frozen set are those from before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from recras_api.errors import RecrasAuthError
from recras_sandbox.testing import SandboxProcess
from tap_recras.collector import SYNC_THRESHOLD
from tap_recras.tap import TapRecras
from tap_recras.testing import make_catalog


def _gc_state() -> tuple[tuple[int, ...], bool, bool]:
    """The thresholds, whether anything is frozen, and whether the collector runs."""
    return gc.get_threshold(), gc.get_freeze_count() > 0, gc.isenabled()


def _watched_tap(config: dict[str, Any]) -> tuple[TapRecras, list[tuple[tuple[int, ...], int]]]:
    """A klanten-only tap that notes the collector's state at every record it lists."""
    catalog = make_catalog(config, nested=False, persons=False)
    tap = TapRecras(config=config, catalog=catalog)
    stream = tap.streams["klanten"]
    seen: list[tuple[tuple[int, ...], int]] = []
    listed = stream.get_records

    def watched(context: Any) -> Iterator[Any]:
        records: Iterable[Any] = listed(context)
        for record in records:
            seen.append((gc.get_threshold(), gc.get_freeze_count()))
            yield record

    stream.get_records = watched  # type: ignore[method-assign]
    return tap, seen


def test_the_sync_runs_lenient_and_restores_the_collector(
    sandbox: SandboxProcess, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    before = _gc_state()
    tap, seen = _watched_tap(sandbox.config(max_workers=2))
    tap.sync_all()
    tap.message_writer.flush()  # type: ignore[attr-defined]
    assert seen
    assert all(threshold[0] == SYNC_THRESHOLD for threshold, _ in seen)
    assert all(threshold[1:] == before[0][1:] for threshold, _ in seen)
    assert all(frozen > 0 for _, frozen in seen)
    assert _gc_state() == before
    assert b'"type":"RECORD"' in capsysbinary.readouterr().out


def test_a_failed_sync_restores_the_collector(
    sandbox: SandboxProcess, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    before = _gc_state()
    config = {**sandbox.config(max_workers=2), "api_key": "not-the-key"}
    tap, _ = _watched_tap(config)
    with pytest.raises(RecrasAuthError):
        tap.sync_all()
    assert _gc_state() == before
    capsysbinary.readouterr()


def test_objects_frozen_by_the_caller_stay_frozen(
    sandbox: SandboxProcess, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    gc.freeze()
    try:
        thresholds = gc.get_threshold()
        tap, seen = _watched_tap(sandbox.config(max_workers=2))
        tap.sync_all()
        assert seen
        assert all(threshold[0] == SYNC_THRESHOLD for threshold, _ in seen)
        # Not thawed (the count itself drops as frozen objects are freed).
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()
    capsysbinary.readouterr()
