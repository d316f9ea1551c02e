"""The sandbox's concurrency-limit mode: a test mode, not documented Recras.

With ``max_concurrent=N``, a ``/api2`` request that arrives while N others with the same
credentials are in flight is answered 429 with ``Retry-After`` (``limit_retry_after``);
it is not processed, so a rejected write changes nothing. Requests in turn are never
limited, and each key has its own budget.
"""

from __future__ import annotations

import threading
from typing import Any

from support.sandbox import SandboxFactory

from recras_sandbox.testing import SandboxProcess


def concurrent(
    sandbox: SandboxProcess, count: int, key: str | None = None, **request: Any
) -> list[tuple[int, dict[str, str]]]:
    """``count`` requests at once (each on its own connection); their statuses and headers."""
    results: list[tuple[int, dict[str, str]]] = []
    lock = threading.Lock()
    start = threading.Barrier(count)
    headers = {"Authorization": f"Bearer {key}"} if key else None
    path = request.get("path") or f"/api2/klanten/{sandbox.customers()[0]['id']}"

    def one() -> None:
        start.wait(timeout=10)
        status, answer_headers, _ = sandbox.request(
            request.get("method", "GET"),
            path,
            request.get("body"),
            headers=headers,
            timeout=30,
        )
        with lock:
            results.append((status, answer_headers))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == count
    return results


def test_requests_above_the_limit_are_answered_429_with_retry_after(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(customers=5, max_concurrent=2, limit_retry_after=3, latency_ms=400)

    results = concurrent(sandbox, 6)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert {h.get("Retry-After") for s, h in results if s == 429} == {"3"}
    assert sandbox.stats()["responses"] == {"200": 2, "429": 4}


def test_requests_in_turn_are_never_limited(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(customers=5, max_concurrent=1)

    statuses = [sandbox.request("GET", f"/api2/klanten/{c['id']}")[0] for c in sandbox.customers()]

    assert statuses == [200] * 5


def test_each_key_has_its_own_budget(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(customers=5, max_concurrent=2, latency_ms=400)
    results: dict[str, list[int]] = {}

    def run(name: str, key: str) -> None:
        results[name] = [status for status, _ in concurrent(sandbox, 2, key)]

    threads = [
        threading.Thread(target=run, args=("full", sandbox.api_key)),
        threading.Thread(target=run, args=("readonly", sandbox.readonly_key)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {"full": [200, 200], "readonly": [200, 200]}


def test_a_limited_write_changes_nothing(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(customers=0, max_concurrent=1, latency_ms=400)
    person = {"voornaam": "Bea", "achternaam": "Perkt", "geslacht": "vrouw", "hoofdcontact": True}
    body = {"naam": "Beperkt", "contactpersonen": [person]}

    results = concurrent(sandbox, 3, method="POST", path="/api2/klanten", body=body)

    assert sorted(status for status, _ in results) == [201, 429, 429]
    assert len(sandbox.customers()) == 1


def test_without_the_mode_nothing_is_limited(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(customers=5, latency_ms=200)

    assert sorted(status for status, _ in concurrent(sandbox, 8)) == [200] * 8
