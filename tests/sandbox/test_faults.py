"""recras-sandbox fault injection: 429/503/dropped connections, invalid JSON, determinism.

Rates are checked with loose statistical bounds; nothing here asserts on timing.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import requests

from recras_sandbox.testing import SandboxProcess


def outcome(sandbox: SandboxProcess, method: str = "GET", path: str = "/api2/personeel/me",
            body: Any = None) -> tuple[str, requests.Response | None]:  # fmt: skip
    """One request on a fresh connection: "drop", "invalid-json" or the status code."""
    try:
        response = requests.request(
            method,
            sandbox.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
            timeout=30,
        )
    except requests.ConnectionError:
        return "drop", None
    if response.status_code == 200:
        try:
            response.json()
        except ValueError:
            return "invalid-json", response
    return str(response.status_code), response


def outcomes(sandbox: SandboxProcess, count: int, path: str = "/api2/personeel/me") -> list[str]:
    return [outcome(sandbox, path=path)[0] for _ in range(count)]


def test_faults_at_the_configured_rate(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, fault_rate=0.3, fault_seed=7, retry_after=3)
    seen: Counter[str] = Counter()
    for _ in range(300):
        result, response = outcome(sandbox)
        seen[result] += 1
        if result == "429":
            assert response is not None
            assert response.headers["Retry-After"] == "3"
        if result in ("429", "503"):
            assert response is not None
            assert set(response.json()) == {"error"}
    faulted = seen["429"] + seen["503"] + seen["drop"]
    assert 50 <= faulted <= 130, seen  # expected 90
    for kind in ("429", "503", "drop"):
        assert 10 <= seen[kind] <= 60, seen  # expected 30 each
    assert seen["200"] == 300 - faulted
    stats = sandbox.stats()
    assert stats["responses"].get("dropped", 0) == seen["drop"]
    assert stats["responses"].get("429", 0) == seen["429"]
    assert stats["requests"]["GET /api2/personeel/me"] == 300


def test_faults_are_deterministic_under_the_seed(sandbox_factory: Any) -> None:
    options = {"customers": 10, "fault_rate": 0.5, "invalid_json_rate": 0.2}
    one = outcomes(sandbox_factory(fault_seed=11, **options), 60)
    two = outcomes(sandbox_factory(fault_seed=11, **options), 60)
    other = outcomes(sandbox_factory(fault_seed=12, **options), 60)
    assert one == two
    assert one != other
    assert {"200", "429", "503", "drop", "invalid-json"} <= set(one)


def test_default_retry_after_is_one_second(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, fault_rate=1.0, fault_seed=1)
    for _ in range(40):
        result, response = outcome(sandbox)
        if result == "429":
            assert response is not None
            assert response.headers["Retry-After"] == "1"
            return
    raise AssertionError("no 429 in 40 requests at fault rate 1")


def test_dropped_connection_closes_socket_without_answer(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, fault_rate=1.0, fault_seed=5)
    results = outcomes(sandbox, 30)
    assert "drop" in results
    assert set(results) <= {"429", "503", "drop"}
    assert sandbox.stats()["responses"]["dropped"] == results.count("drop")


def test_faulted_writes_change_nothing(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, fault_rate=1.0, fault_seed=2)
    before = sandbox.customers()
    target = before[0]["id"]
    body = {"naam": "Nooit", "contactpersonen": [{"voornaam": "X", "hoofdcontact": True}]}
    results = [outcome(sandbox, "POST", "/api2/klanten", body)[0] for _ in range(10)]
    results += [outcome(sandbox, "PUT", f"/api2/klanten/{target}", {"naam": "Nooit"})[0]
                for _ in range(10)]  # fmt: skip
    assert set(results) <= {"429", "503", "drop"}
    assert sandbox.customers() == before
    stats = sandbox.stats()
    assert stats["requests"]["POST /api2/klanten"] == 10
    assert stats["requests"]["PUT /api2/klanten/{id}"] == 10


def test_faults_come_before_authentication(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, fault_rate=1.0, fault_seed=3)
    statuses = []
    for _ in range(20):
        try:
            response = requests.get(sandbox.base_url + "/api2/klanten", timeout=30)
        except requests.ConnectionError:
            continue
        statuses.append(response.status_code)
    assert statuses
    # Never 401: a faulted request is not processed at all.
    assert set(statuses) <= {429, 503}


def test_admin_endpoints_are_never_faulted(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(
        customers=10, fault_rate=1.0, invalid_json_rate=1.0, latency_ms=0, fault_seed=4
    )
    for _ in range(20):
        assert sandbox.stats()["customers"] == 10
    assert len(sandbox.customers()) == 10
    assert sandbox.set_faults(fault_rate=0.0)["fault_rate"] == 0.0


def test_invalid_json_switch(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, invalid_json_rate=1.0, fault_seed=1)
    response = requests.get(
        sandbox.base_url + "/api2/klanten",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    try:
        json.loads(response.content)
    except ValueError:
        pass
    else:
        raise AssertionError("body was valid JSON")
    sandbox.set_faults(invalid_json_rate=0.0)
    assert outcomes(sandbox, 5, "/api2/klanten") == ["200"] * 5


def test_invalid_json_at_the_configured_rate(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, invalid_json_rate=0.25, fault_seed=9)
    results = Counter(outcomes(sandbox, 200))
    assert 25 <= results["invalid-json"] <= 80, results  # expected 50
    assert results["invalid-json"] + results["200"] == 200


def test_faults_can_be_switched_on_at_run_time(sandbox: SandboxProcess) -> None:
    assert outcomes(sandbox, 10) == ["200"] * 10
    sandbox.set_faults(fault_rate=1.0, fault_seed=8, retry_after=4)
    results = outcomes(sandbox, 20)
    assert set(results) <= {"429", "503", "drop"}
    sandbox.set_faults(fault_rate=0.0)
    assert outcomes(sandbox, 10) == ["200"] * 10


def test_latency_setting_keeps_responses_correct(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, latency_ms=20)
    assert sandbox.set_faults()["latency_ms"] == 20
    assert outcomes(sandbox, 3, "/api2/klanten") == ["200"] * 3
