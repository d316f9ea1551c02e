"""End to end: the ``tap-recras`` executable against a real ``recras-sandbox`` process.

Every run logs at DEBUG and every run's stdout and stderr are searched for the API key.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any, Literal

import pytest
from support.fault_proxy import Fault, FaultProxy, Rule
from support.processes import read_rest
from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import TapRun, make_catalog, parse_messages, start_tap
from tap_recras.testing import run_tap as run_tap_process

#: Distinctive, so that a leak anywhere in the output is found by a plain substring search.
SECRET = "tapkey-7f3a9c51-d0-not-log"
WRONG_SECRET = "wrongkey-e4b2-never-shown"


def run_tap(config: dict[str, Any], **kwargs: Any) -> TapRun:
    """Run the tap at DEBUG and check that no credential reached any output."""
    run = run_tap_process(config, **kwargs)
    assert_no_secret(run.stdout + run.stderr)
    return run


def assert_no_secret(text: str) -> None:
    for secret in (SECRET, WRONG_SECRET, "sandbox-password"):
        assert secret not in text


@pytest.fixture
def start(sandbox_factory: SandboxFactory) -> SandboxFactory:
    """Sandboxes with the distinctive API key."""
    return lambda **options: sandbox_factory(api_key=SECRET, **options)


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in records]


def detail_requests(sandbox: SandboxProcess) -> int:
    return int(sandbox.stats()["requests"].get("GET /api2/klanten/{id}", 0))


def bookmark(state: dict[str, Any] | None) -> Any:
    assert state is not None
    return state["bookmarks"]["klanten"].get("replication_key_value")


def expected_persons(customers: list[dict[str, Any]]) -> list[tuple[int, int, int, bool]]:
    """(person id, klant_id, positie, hoofdcontact) for every customer, in list order."""
    return [
        (person["id"], customer["id"], position, position == 0)
        for customer in customers
        for position, person in enumerate(customer["contactpersonen"])
    ]


def person_keys(records: list[dict[str, Any]]) -> list[tuple[int, int, int, bool]]:
    return [(r["id"], r["klant_id"], r["positie"], r["hoofdcontact"]) for r in records]


# -- full and incremental syncs --------------------------------------------------------------


def test_full_sync_sends_every_customer_with_its_contact_persons(start: SandboxFactory) -> None:
    sandbox = start(customers=120)
    truth = sandbox.customers()

    run = run_tap(sandbox.config())

    assert run.returncode == 0, run.stderr
    klanten = run.records("klanten")
    assert ids(klanten) == [c["id"] for c in truth]
    by_id = {c["id"]: c for c in truth}
    for record in klanten:
        nested = [p["id"] for p in record["contactpersonen"]]
        assert nested == [p["id"] for p in by_id[record["id"]]["contactpersonen"]]
    assert person_keys(run.records("contactpersonen")) == expected_persons(truth)
    # One detail request per customer, shared by the nested property and the child stream.
    assert detail_requests(sandbox) == len(truth)
    assert bookmark(run.last_state) == max(by_id)
    assert "not in the klanten schema" not in run.stderr
    # State does not grow with the customers: no per-customer partitions.
    assert max(len(json.dumps(m["value"])) for m in run.of_type("STATE")) < 400
    assert run.last_state == {
        "bookmarks": {
            "klanten": {"replication_key": "id", "replication_key_value": max(by_id)},
            "contactpersonen": {},
        }
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("nested", "persons"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_detail_requests_only_for_selected_contact_persons(
    start: SandboxFactory, nested: bool, persons: bool
) -> None:
    sandbox = start(customers=40)
    config = sandbox.config()

    run = run_tap(config, catalog=make_catalog(config, nested=nested, persons=persons))

    assert run.returncode == 0, run.stderr
    klanten = run.records("klanten")
    assert len(klanten) == 40
    assert detail_requests(sandbox) == (40 if nested or persons else 0)
    assert all(("contactpersonen" in k) == nested for k in klanten)
    assert bool(run.records("contactpersonen")) == persons


@pytest.mark.slow
def test_incremental_run_sends_exactly_the_new_customers(start: SandboxFactory) -> None:
    sandbox = start(customers=60)
    first = run_tap(sandbox.config())
    added = sandbox.add_customers(15)

    second = run_tap(sandbox.config(), state=first.last_state)
    third = run_tap(sandbox.config(), state=second.last_state)

    assert ids(second.records("klanten")) == added
    assert {r["klant_id"] for r in second.records("contactpersonen")} == set(added)
    assert bookmark(second.last_state) == max(added)
    assert third.records("klanten") == []
    assert bookmark(third.last_state) == max(added)


@pytest.mark.slow
def test_start_id_bounds_a_run_without_state_but_not_one_with_state(
    start: SandboxFactory,
) -> None:
    sandbox = start(customers=30)
    all_ids = [c["id"] for c in sandbox.customers()]
    config = sandbox.config(start_id=all_ids[10])
    catalog = make_catalog(config, nested=False, persons=False)

    first = run_tap(config, catalog=catalog)
    added = sandbox.add_customers(3)
    second = run_tap(config, catalog=catalog, state=first.last_state)

    assert ids(first.records("klanten")) == all_ids[10:]
    assert ids(second.records("klanten")) == added


def test_paged_list_is_followed_to_the_last_page(start: SandboxFactory) -> None:
    sandbox = start(customers=250, page_size=100)
    config = sandbox.config()

    run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False))

    assert run.returncode == 0, run.stderr
    assert ids(run.records("klanten")) == [c["id"] for c in sandbox.customers()]
    assert sandbox.stats()["requests"]["GET /api2/klanten"] == 3


@pytest.mark.slow
def test_shuffled_list_bookmarks_the_highest_id_seen(start: SandboxFactory) -> None:
    sandbox = start(customers=200, shuffle=True, page_size=50)
    config = sandbox.config()
    catalog = make_catalog(config, nested=False, persons=False)
    first = run_tap(config, catalog=catalog)
    added = sandbox.add_customers(30)

    second = run_tap(config, catalog=catalog, state=first.last_state)

    first_ids = ids(first.records("klanten"))
    assert first_ids != sorted(first_ids)  # really unsorted
    assert sorted(first_ids) == [c["id"] for c in sandbox.customers()][:200]
    assert bookmark(first.last_state) == max(first_ids)
    assert sorted(ids(second.records("klanten"))) == added


def test_injected_faults_give_the_same_records_as_a_clean_run(start: SandboxFactory) -> None:
    clean = run_tap(start(customers=60).config())
    faulty_sandbox = start(customers=60, fault_rate=0.2, fault_seed=7, retry_after=0)

    faulty = run_tap(faulty_sandbox.config())

    assert faulty.returncode == 0, faulty.stderr
    responses = faulty_sandbox.stats()["responses"]
    assert responses.get("429", 0) + responses.get("503", 0) + responses.get("dropped", 0) > 5
    assert "retry" in faulty.stderr
    for stream in ("klanten", "contactpersonen"):
        assert faulty.records(stream) == clean.records(stream)


@pytest.mark.slow
def test_killed_run_resumed_from_its_last_state_misses_no_customer(
    start: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = start(customers=50, shuffle=True, latency_ms=1)
    config = sandbox.config(max_workers=2)
    first = run_tap(config)
    added = set(sandbox.add_customers(2500))

    # Kill the second run once it has emitted a STATE from the middle of the list.
    with (tmp_path / "stderr.log").open("w") as log:
        process = start_tap(tmp_path, config, state=first.last_state, stderr=log)
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if '"progress_markers"' in line and line.startswith('{"type":"STATE"'):
                break
        process.send_signal(signal.SIGKILL)
        rest = read_rest(process, 60)
    killed = parse_messages("".join(lines) + rest)
    assert_no_secret("".join(lines) + rest + (tmp_path / "stderr.log").read_text())
    killed_ids = {
        m["record"]["id"] for m in killed if m["type"] == "RECORD" and m["stream"] == "klanten"
    }
    assert 0 < len(killed_ids) < len(added)
    last_state = next(m["value"] for m in reversed(killed) if m["type"] == "STATE")

    resumed = run_tap(config, state=last_state)

    resumed_ids = set(ids(resumed.records("klanten")))
    assert added <= resumed_ids  # the killed run's progress is re-read, never skipped
    assert bookmark(resumed.last_state) == max(added)
    assert {r["klant_id"] for r in resumed.records("contactpersonen")} >= added


# -- full table ------------------------------------------------------------------------------


@pytest.mark.parametrize("asked_through", ["metadata", "entry", "both"])
def test_full_table_run_activates_its_version_after_its_last_record(
    start: SandboxFactory, asked_through: Literal["metadata", "entry", "both"]
) -> None:
    sandbox = start(customers=30)
    config = sandbox.config()
    incremental = run_tap(config)

    run = run_tap(
        config, catalog=make_catalog(config, full_table=asked_through), state=incremental.last_state
    )

    assert run.returncode == 0, run.stderr
    assert len(run.records("klanten")) == 30  # all of them, despite the bookmark
    for stream in ("klanten", "contactpersonen"):
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        records = [m for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream]
        versions = [
            m for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
        ]
        # Once, after every record: a target drops older rows when it receives it.
        assert len(versions) == 1
        assert kinds.index("ACTIVATE_VERSION") == len(kinds) - 1
        assert {r["version"] for r in records} == {versions[0]["version"]}
    # The incremental bookmark survives a full-table run.
    assert bookmark(run.last_state) == bookmark(incremental.last_state)


# -- errors ----------------------------------------------------------------------------------


def test_customer_deleted_before_its_detail_is_a_warning(start: SandboxFactory) -> None:
    sandbox = start(customers=20)
    truth = [c["id"] for c in sandbox.customers()]
    gone = truth[5]
    rules = [Rule("GET", f"/api2/klanten/{gone}", nth=None, fault=Fault.before_status(404))]

    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        run = run_tap(sandbox.config(base_url=proxy.base_url))

    assert run.returncode == 0, run.stderr
    assert ids(run.records("klanten")) == [i for i in truth if i != gone]
    assert gone not in {r["klant_id"] for r in run.records("contactpersonen")}
    assert f"Customer {gone} was listed but its detail answered 404" in run.stderr
    assert "WARNING" in run.stderr


def test_wrong_api_key_stops_with_a_hint_at_api_key(start: SandboxFactory) -> None:
    sandbox = start(customers=5)

    run = run_tap(sandbox.config(api_key=WRONG_SECRET))

    assert run.returncode != 0
    assert "(401)" in run.stderr
    assert "Check the api_key setting" in run.stderr
    assert run.records("klanten") == []


def test_missing_permission_stops_naming_the_permission(start: SandboxFactory) -> None:
    sandbox = start(customers=5)
    rules = [Rule("GET", "/api2/klanten", nth=None, fault=Fault.before_status(403))]

    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        run = run_tap(sandbox.config(base_url=proxy.base_url))

    assert run.returncode != 0
    assert "(403)" in run.stderr
    assert "needs the read customers permission" in run.stderr


def test_body_that_is_not_json_names_url_and_status(start: SandboxFactory) -> None:
    sandbox = start(customers=5, invalid_json_rate=1.0)

    run = run_tap(sandbox.config())

    assert run.returncode != 0
    assert f"GET {sandbox.base_url}/api2/klanten answered HTTP 200" in run.stderr
    assert "not valid JSON" in run.stderr


def test_basic_auth_works_and_warns_that_it_is_deprecated(start: SandboxFactory) -> None:
    sandbox = start(customers=10)
    config = {"base_url": sandbox.base_url, "username": sandbox.username}
    config["password"] = sandbox.password

    run = run_tap(config, catalog=make_catalog(config, nested=False, persons=False))

    assert run.returncode == 0, run.stderr
    assert len(run.records("klanten")) == 10
    assert "Recras deprecated in July 2020" in run.stderr


def test_plain_http_to_a_remote_host_is_refused() -> None:
    run = run_tap({"base_url": "http://recras.example.com", "api_key": SECRET})

    assert run.returncode != 0
    assert "base_url must use https://" in run.stderr
    assert run.records("klanten") == []
