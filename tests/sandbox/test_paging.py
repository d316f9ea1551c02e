"""recras-sandbox paging mode (X-Page-Size, X-Total-Count, Link) and shuffled order."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from recras_sandbox.testing import SandboxProcess

_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="([a-z]+)"')


def get(sandbox: SandboxProcess, url: str, **kwargs: Any) -> requests.Response:
    if url.startswith("/"):
        url = sandbox.base_url + url
    return requests.get(
        url, headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=30, **kwargs
    )


def links(response: requests.Response) -> dict[str, str]:
    """The Link header as {rel: url}."""
    return {rel: url for url, rel in _LINK_RE.findall(response.headers.get("Link", ""))}


def follow(sandbox: SandboxProcess, url: str) -> tuple[list[int], int]:
    """Follow rel="next" from ``url``; returns all ids in order and the number of pages."""
    ids: list[int] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        response = get(sandbox, next_url)
        assert response.status_code == 200
        ids.extend(c["id"] for c in response.json())
        pages += 1
        assert pages < 100, "paging does not end"
        next_url = links(response).get("next")
    return ids, pages


def test_paging_headers_on_first_page(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=110, page_size=25)
    response = get(sandbox, "/api2/klanten")
    assert response.status_code == 200
    assert len(response.json()) == 25
    assert response.headers["X-Page-Size"] == "25"
    assert response.headers["X-Total-Count"] == "110"
    rels = links(response)
    assert set(rels) == {"next", "first", "last"}
    assert rels["next"].endswith("page=2")
    assert rels["last"].endswith("page=5")


def test_following_next_yields_every_customer_exactly_once(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=110, page_size=25)
    ids, pages = follow(sandbox, "/api2/klanten")
    assert pages == 5
    assert len(ids) == len(set(ids)) == 110
    assert set(ids) == {c["id"] for c in sandbox.customers()}


def test_last_page_has_prev_and_no_next(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=110, page_size=25)
    response = get(sandbox, "/api2/klanten", params={"page": 5})
    assert len(response.json()) == 10
    rels = links(response)
    assert "next" not in rels
    assert rels["prev"].endswith("page=4")


def test_page_beyond_last_is_empty(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=30, page_size=25)
    response = get(sandbox, "/api2/klanten", params={"page": 9})
    assert response.status_code == 200
    assert response.json() == []
    assert "next" not in links(response)


def test_paging_keeps_id_filter_in_links(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=110, page_size=25)
    all_ids = sorted(c["id"] for c in sandbox.customers())
    pivot = all_ids[40]
    first = get(sandbox, "/api2/klanten", params={"id>": pivot})
    assert first.headers["X-Total-Count"] == "70"
    assert "id%3E=" in links(first)["next"]
    ids, _ = follow(sandbox, first.url)
    assert ids == all_ids[40:]


@pytest.mark.parametrize("page", ["0", "-1", "x", ""])
def test_invalid_page_rejected(sandbox_factory: Any, page: str) -> None:
    sandbox = sandbox_factory(customers=10, page_size=5)
    response = get(sandbox, "/api2/klanten", params={"page": page})
    assert response.status_code == 406
    assert "page" in response.json()["error"]["message"]


def test_unknown_parameter_still_rejected_in_paging_mode(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=10, page_size=5)
    response = get(sandbox, "/api2/klanten", params={"limit": 5})
    assert response.status_code == 406
    assert "Could not validate extra field" in response.json()["error"]["message"]


def test_page_parameter_rejected_without_paging(sandbox: SandboxProcess) -> None:
    response = get(sandbox, "/api2/klanten", params={"page": 1})
    assert response.status_code == 406
    assert "Could not validate extra field: page" in response.json()["error"]["message"]


def test_shuffle_changes_order_but_not_the_set(sandbox_factory: Any) -> None:
    plain = sandbox_factory(customers=100)
    shuffled = sandbox_factory(customers=100, shuffle=True)
    plain_ids = [c["id"] for c in get(plain, "/api2/klanten").json()]
    shuffled_ids = [c["id"] for c in get(shuffled, "/api2/klanten").json()]
    assert plain_ids == sorted(plain_ids)
    assert shuffled_ids != plain_ids
    assert sorted(shuffled_ids) == plain_ids


def test_shuffle_is_deterministic_under_the_seed(sandbox_factory: Any) -> None:
    one = sandbox_factory(customers=100, shuffle=True, seed=3)
    two = sandbox_factory(customers=100, shuffle=True, seed=3)
    first = [c["id"] for c in get(one, "/api2/klanten").json()]
    assert first == [c["id"] for c in get(two, "/api2/klanten").json()]
    assert first == [c["id"] for c in get(one, "/api2/klanten").json()]


def test_shuffle_with_id_filter_and_paging(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(customers=120, shuffle=True, page_size=25)
    all_ids = sorted(c["id"] for c in sandbox.customers())
    pivot = all_ids[20]
    ids, pages = follow(sandbox, f"/api2/klanten?id%3E={pivot}")
    assert pages == 4
    assert ids != sorted(ids)
    assert sorted(ids) == all_ids[20:]
