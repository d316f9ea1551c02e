"""Errors raised by the Recras HTTP client, each with a message a user can act on.

Messages name the request (method and URL) and Recras's own explanation, and never contain
credentials: every message is scrubbed by :mod:`recras_api.redact` when the error is made,
since a server or proxy may echo the Authorization header in the body a message quotes.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from recras_api.redact import escape_controls, scrub

#: How much of an unparseable body an error message quotes.
BODY_SNIPPET_CHARS = 200


class RecrasError(Exception):
    """Base class: anything that went wrong talking to Recras."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        # A message quotes what the server sent: one line, however the server wrote it.
        message = escape_controls(scrub(message))
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = scrub(url) if url else url


class RecrasConfigError(RecrasError):
    """The connection settings are unusable (bad base_url, no credentials)."""


class RecrasAuthError(RecrasError):
    """401: Recras did not accept the credentials."""


class RecrasPermissionError(RecrasError):
    """403: the user behind the credentials lacks a permission."""


class RecrasNotFoundError(RecrasError):
    """404: no such resource (for customers: deleted, or never existed)."""


class RecrasInputRejectedError(RecrasError):
    """406: Recras rejected the input; ``message`` says why."""


class RecrasHTTPError(RecrasError):
    """Any other final (non-retried) HTTP error status."""


class RecrasUnavailableError(RecrasError):
    """Retriable failures (429, 5xx, timeouts, connection errors) outlasted the retry budget."""


class RecrasInvalidResponseError(RecrasError):
    """Recras answered with a body that is not the JSON the endpoint documents."""


class RecrasRedirectError(RecrasError):
    """A redirect that is not followed: to another origin, in a loop, or dropping a body."""


def recras_message(response: requests.Response) -> str:
    """Return Recras's explanation from an error response, whatever shape it has.

    Recras sends ``{"error": {"message": ...}}``; some older endpoints send a top-level
    ``{"message": ...}``. Anything else is quoted as a short text snippet.
    """
    text = response.text
    try:
        body: Any = json.loads(text)
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    snippet = " ".join(text.split())[:BODY_SNIPPET_CHARS]
    return snippet or response.reason or "no explanation given"
