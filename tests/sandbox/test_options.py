"""The sandbox's options: one declaration behind the CLI flags and ``SandboxProcess``'s keywords.

``SandboxOptions`` is the only list of options; the CLI's flags and the command line a
``SandboxProcess`` starts are derived from it, so every option must survive the trip through
its flag. A ``SandboxProcess`` checks its keywords when it is made and starts nothing until
``with`` or ``start()``.
"""

from __future__ import annotations

import dataclasses

import pytest

from recras_sandbox.__main__ import build_parser
from recras_sandbox.options import SandboxOptions
from recras_sandbox.testing import SandboxError, SandboxProcess

#: Every option away from its default (a new option must be added here).
EVERY_OPTION_CHANGED = SandboxOptions(
    customers=7, bookings=9, seed=2, page_size=5, shuffle=True, db="sandbox.sqlite3",
    api_key="key", readonly_key="readonly", username="user", password="secret",
    fault_rate=0.5, fault_seed=3, retry_after=4, latency_ms=1.5, invalid_json_rate=0.25,
    max_concurrent=2, limit_retry_after=3,
    merge="never", put_extra_fields="replace", id_min="exclusive", linked_person_fields="ignore",
    list_persons=True, booking_id_filter="refused", booking_lines="detail", datum_na="inclusive",
    money="strings", regels_eind="exclusive",
)  # fmt: skip


def test_every_option_survives_the_trip_through_its_flag() -> None:
    defaults = SandboxOptions()
    unchanged = [
        field.name
        for field in dataclasses.fields(SandboxOptions)
        if getattr(EVERY_OPTION_CHANGED, field.name) == getattr(defaults, field.name)
    ]
    assert unchanged == []
    parsed = build_parser().parse_args(EVERY_OPTION_CHANGED.to_argv())
    assert SandboxOptions.from_flags(parsed) == EVERY_OPTION_CHANGED
    assert SandboxOptions.from_flags(build_parser().parse_args([])) == defaults


def test_the_cli_rejects_a_value_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--fault-rate", "2"])
    assert exit_info.value.code == 2
    assert "--fault-rate: fault_rate must be between 0 and 1, got 2.0" in capsys.readouterr().err


def test_keywords_are_checked_before_anything_starts() -> None:
    with pytest.raises(TypeError, match="colour"):
        SandboxProcess(customers=3, colour="red")
    with pytest.raises(ValueError, match="page_size must be >= 0, got -1"):
        SandboxProcess(page_size=-1)
    with pytest.raises(ValueError, match="merge must be one of name-email, never"):
        SandboxProcess(merge="sometimes")
    with pytest.raises(ValueError, match="retry_after must be given a value, not None"):
        SandboxProcess(retry_after=None)


def test_a_sandbox_starts_on_entering_and_stops_on_leaving() -> None:
    sandbox = SandboxProcess(customers=3, page_size=2)
    with pytest.raises(SandboxError, match="not started"):
        _ = sandbox.base_url
    assert sandbox.returncode is None
    with sandbox:
        status, headers, _ = sandbox.request("GET", "/api2/klanten")
        assert status == 200 and headers["X-Total-Count"] == "3"
        with pytest.raises(SandboxError, match="already started"):
            sandbox.start()
    assert sandbox.returncode == 0


def test_stopping_a_sandbox_never_started_does_nothing() -> None:
    assert SandboxProcess().stop() is None
