"""Requests to a running recras-sandbox, as the sandbox's own tests send them."""

from __future__ import annotations

from typing import Any

import requests

from recras_sandbox.testing import SandboxProcess


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
