"""Requests the sandbox refuses, and the query parameters it reads, as Recras reads them.

Shared by the customer endpoints (server.py) and the other resources
(:mod:`recras_sandbox.resources.endpoints`): an unknown parameter is 406 ``Could not validate
extra field`` everywhere, and a value that is not what its field takes is 406 naming it.
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import parse_qsl

from recras_sandbox.validation import extra_field_error

_INT_RE = re.compile(r"-?[0-9]+")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class RejectError(Exception):
    """Abort a request with an error response."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def parse_params(query: str, allowed: set[str]) -> dict[str, str]:
    """Parse the query string; any parameter not in ``allowed`` is rejected as Recras does."""
    # Non-strict parsing: a bare "foo" is reported as the unknown field it is.
    pairs = parse_qsl(query, keep_blank_values=True)
    params: dict[str, str] = {}
    for key, value in pairs:
        if key not in allowed:
            raise RejectError(406, str(extra_field_error(key)))
        params[key] = value
    return params


def integer(name: str, raw: str) -> int:
    """The integer a parameter gives; 406 naming it otherwise."""
    text = raw.strip()
    if not _INT_RE.fullmatch(text):
        raise RejectError(406, f"Field {name} must be an integer, got {raw!r}")
    return int(text)


def integers(name: str, raw: str) -> set[int]:
    """A comma list of integers (``1,5,9``)."""
    return {integer(name, part) for part in raw.split(",")}


def date(name: str, raw: str, status: int = 406) -> str:
    """An ISO date (``YYYY-MM-DD``), returned as given; ``status`` names it otherwise."""
    text = raw.strip()
    try:
        if _DATE_RE.fullmatch(text):
            return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise RejectError(status, f"Field {name} must be a date (YYYY-MM-DD), got {raw!r}")
