"""Sandboxes in tests: the ``sandbox_factory`` fixture's type, and requests as the sandbox's own
tests send them."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import requests

from recras_sandbox.testing import SandboxProcess

#: The ``sandbox_factory`` fixture (tests/conftest.py): starts a sandbox with the given options.
SandboxFactory = Callable[..., SandboxProcess]


def get(sandbox: SandboxProcess, path: str, **kwargs: Any) -> requests.Response:
    """GET with the full-access Bearer key unless headers/auth say otherwise."""
    kwargs.setdefault("headers", {"Authorization": f"Bearer {sandbox.api_key}"})
    return requests.get(sandbox.base_url + path, timeout=30, **kwargs)


def send(
    sandbox: SandboxProcess, method: str, path: str, body: Any = None, key: str | None = None
) -> requests.Response:
    """One request (with a JSON body unless ``body`` is None) with a Bearer key (the full one
    by default)."""
    return requests.request(
        method,
        sandbox.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {key or sandbox.api_key}"},
        timeout=30,
    )


def rows(sandbox: SandboxProcess, path: str) -> Any:
    """GET ``path`` (200 expected) and parse it with amounts as Decimals, exact as sent."""
    response = get(sandbox, path)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def admin_rows(sandbox: SandboxProcess, resource: str) -> list[dict[str, Any]]:
    """Every row of ``resource`` from ``/_sandbox/data`` (as ``SandboxProcess.rows``), amounts
    as Decimals."""
    return rows(sandbox, f"/_sandbox/data/{resource}")  # type: ignore[no-any-return]


#: Two sandbox reading combinations that together cover every alternative of what the vendor
#: notes leave open (docs/sandbox.md, "Choices for unconfirmed points"): the defaults, and
#: every other alternative at once, paged.
EVERY_READING: dict[str, dict[str, Any]] = {
    "defaults": {},
    "alternatives": {
        "booking_id_filter": "refused",
        "booking_lines": "detail",
        "datum_na": "inclusive",
        "money": "strings",
        "regels_eind": "exclusive",
        "page_size": 100,
    },
}
