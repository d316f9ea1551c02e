"""tests/support/fault_proxy.py itself: before-faults never reach the sandbox, after-faults do.

Each test sends real requests through a FaultProxy to a real recras-sandbox and checks, with
the sandbox's own request counters and customer count, whether a request was processed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from support.fault_proxy import Exchange, Fault, FaultProxy, Rule

from recras_sandbox.testing import SandboxProcess

BODY = {
    "naam": "Proxy BV",
    "contactpersonen": [{"voornaam": "P", "email1": "p@proxy.nl", "hoofdcontact": True}],
}


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with SandboxProcess(customers=3) as process:
        yield process


def _post(proxy: FaultProxy, sandbox: SandboxProcess, timeout: float = 10) -> requests.Response:
    return requests.post(
        proxy.base_url + "/api2/klanten",
        json=BODY,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=timeout,
    )


def _counts(sandbox: SandboxProcess) -> tuple[int, int]:
    """(customers, POSTs the sandbox received)."""
    stats = sandbox.stats()
    return stats["customers"], stats["requests"].get("POST /api2/klanten", 0)


def test_without_faults_answers_are_passed_through(sandbox: SandboxProcess) -> None:
    path = f"/api2/klanten/{sandbox.customers()[0]['id']}"
    with FaultProxy(sandbox.base_url) as proxy:
        through = requests.get(
            proxy.base_url + path,
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
            timeout=10,
        )
    status, headers, body = sandbox.request("GET", path)
    assert status == 200
    assert (through.status_code, through.content) == (status, body)
    assert through.headers["Content-Type"] == headers["Content-Type"]
    assert [(e.method, e.path, e.fault, e.upstream_status) for e in proxy.log] == [
        ("GET", path, None, 200)
    ]


def test_next_page_links_lead_back_through_the_proxy(sandbox_factory: Any) -> None:
    paged = sandbox_factory(customers=3, page_size=2)
    with FaultProxy(paged.base_url) as proxy:
        response = requests.get(
            proxy.base_url + "/api2/klanten",
            headers={"Authorization": f"Bearer {paged.api_key}"},
            timeout=10,
        )
        assert response.links["next"]["url"].startswith(proxy.base_url + "/api2/klanten?")
        second = requests.get(
            response.links["next"]["url"],
            headers={"Authorization": f"Bearer {paged.api_key}"},
            timeout=10,
        )
    assert len(response.json()) + len(second.json()) == 3
    assert [e.upstream_status for e in proxy.log] == [200, 200]


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.before_status(503), 503), (Fault.before_status(429), 429)]
)
def test_before_status_is_answered_without_forwarding(
    sandbox: SandboxProcess, fault: Fault, status: int
) -> None:
    before = _counts(sandbox)
    with FaultProxy(sandbox.base_url, rules=[Rule("POST", fault=fault)]) as proxy:
        response = _post(proxy, sandbox)
    assert response.status_code == status
    assert response.headers["Retry-After"] == "0"
    assert response.json() == {"error": {"message": f"fault proxy: HTTP {status}"}}
    assert _counts(sandbox) == before
    assert [e.describe() for e in proxy.faulted()] == [
        f"#1 POST /api2/klanten -> before-{status} (upstream None)"
    ]


def test_before_drop_closes_without_forwarding(sandbox: SandboxProcess) -> None:
    before = _counts(sandbox)
    rules = [Rule("POST", fault=Fault.before_drop())]
    with (
        FaultProxy(sandbox.base_url, rules=rules) as proxy,
        pytest.raises(requests.ConnectionError),
    ):
        _post(proxy, sandbox)
    assert _counts(sandbox) == before
    assert not proxy.log[0].forwarded


@pytest.mark.parametrize(
    ("fault", "status"),
    [(Fault.after_status(502), 502), (Fault.after_status(504), 504), (Fault.after_drop(), None)],
)
def test_after_faults_are_processed_but_the_answer_is_lost(
    sandbox: SandboxProcess, fault: Fault, status: int | None
) -> None:
    customers, posts = _counts(sandbox)
    with FaultProxy(sandbox.base_url, rules=[Rule("POST", fault=fault)]) as proxy:
        if status is None:
            with pytest.raises(requests.ConnectionError):
                _post(proxy, sandbox)
        else:
            assert _post(proxy, sandbox).status_code == status
    after = _counts(sandbox)
    assert after[1] == posts + 1
    # The first POST of BODY creates; later ones merge (same name and e-mail): both processed.
    assert after[0] in (customers, customers + 1)
    assert proxy.log[0].upstream_status in (200, 201)


def test_after_stall_outlasts_the_client_timeout(sandbox: SandboxProcess) -> None:
    _, posts = _counts(sandbox)
    rules = [Rule("POST", fault=Fault.after_stall(5.0))]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            _post(proxy, sandbox, timeout=0.5)
        assert time.monotonic() - started < 4.0
    assert _counts(sandbox)[1] == posts + 1


def test_rules_fire_on_the_nth_matching_request_only(sandbox: SandboxProcess) -> None:
    rules = [
        Rule("POST", "/api2/klanten", nth={2, 3}, fault=Fault.before_status(503)),
        Rule("GET", "/api2/klanten/*", nth=1, fault=Fault.before_status(429)),
    ]
    ids = [item["id"] for item in sandbox.customers()[:2]]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        posts = [_post(proxy, sandbox).status_code for _ in range(4)]
        gets = [
            requests.get(
                proxy.base_url + f"/api2/klanten/{klant_id}",
                headers={"Authorization": f"Bearer {sandbox.api_key}"},
                timeout=10,
            ).status_code
            for klant_id in ids
        ]
    assert posts[1:3] == [503, 503]
    assert posts[0] in (200, 201) and posts[3] == 200
    assert gets == [429, 200]
    assert [e.index for e in proxy.faulted()] == [2, 3, 5]


def test_a_rule_with_nth_none_fires_on_every_matching_request(sandbox: SandboxProcess) -> None:
    rules = [Rule("POST", "/api2/klanten", nth=None, fault=Fault.before_status(503))]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        posts = [_post(proxy, sandbox).status_code for _ in range(3)]
        listed = requests.get(
            proxy.base_url + "/api2/klanten",
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
            timeout=10,
        ).status_code
    assert posts == [503, 503, 503]
    assert listed == 200
    assert [e.index for e in proxy.faulted()] == [1, 2, 3]


def test_hook_runs_after_the_upstream_answered(sandbox: SandboxProcess) -> None:
    seen: list[tuple[int, int | None, int]] = []

    def hook(exchange: Exchange) -> None:
        seen.append((exchange.index, exchange.upstream_status, _counts(sandbox)[1]))

    _, posts = _counts(sandbox)
    rules = [Rule("POST", nth=2, fault=Fault.after_drop(), hook=hook)]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        assert _post(proxy, sandbox).status_code in (200, 201)
        with pytest.raises(requests.ConnectionError):
            _post(proxy, sandbox)
    assert seen == [(2, 200, posts + 2)]


def test_schedule_decides_by_request(sandbox: SandboxProcess) -> None:
    def every_other(exchange: Exchange) -> Fault | None:
        return Fault.before_status(503) if exchange.index % 2 == 0 else None

    with FaultProxy(sandbox.base_url, schedule=every_other) as proxy:
        statuses = [_post(proxy, sandbox).status_code for _ in range(4)]
    assert statuses[1::2] == [503, 503]
    assert [e.forwarded for e in proxy.log] == [True, False, True, False]


def test_close_ends_a_stalled_request_at_once(sandbox: SandboxProcess) -> None:
    proxy = FaultProxy(sandbox.base_url, rules=[Rule("POST", fault=Fault.after_stall(60))])
    errors: list[BaseException] = []

    def post() -> None:
        try:
            _post(proxy, sandbox, timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    client = threading.Thread(target=post)
    client.start()
    deadline = time.monotonic() + 10
    while not proxy.log or not proxy.log[0].forwarded:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    started = time.monotonic()
    proxy.close()
    client.join(10)
    assert not client.is_alive()
    assert time.monotonic() - started < 5
    assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)


@pytest.mark.parametrize("upstream", ["http://192.0.2.1:80", "https://127.0.0.1:1", "127.0.0.1"])
def test_only_a_loopback_http_upstream_is_accepted(upstream: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(upstream)
