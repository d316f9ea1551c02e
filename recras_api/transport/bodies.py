"""Reading the body of a Recras answer within its wall-time budget and size cap.

It owns how a body's bytes are read: in pieces of :data:`STREAM_CHUNK_BYTES`, every wait for
one counted against the request's :class:`~recras_api.transport.deadline.Deadline` (what that budget
is, per kind of request, is :func:`request_deadline`); a body read whole is at most
:data:`MAX_BODY_BYTES` after decompression and is kept in ``response._content``, where
requests keeps a read body, so ``.content`` and ``.json()`` then use it; and decoding such a
body as JSON, with an error that quotes it. The streamed list and the single requests read
bodies the same way, so these rules are kept in one place, apart from the client's
requests and retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import requests

from recras_api import errors
from recras_api.transport.deadline import Deadline

#: Size of the pieces a body is read (and a list parsed) in.
STREAM_CHUNK_BYTES = 64 * 1024
#: Largest decompressed body read whole (details, write answers); error bodies are cut here.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Slowest average speed accepted for the streamed customer list once its headers are in
#: (on top of ``request_timeout``). Far below any real link, so no legitimate list trips it,
#: while a server trickling a byte at a time is stopped within seconds.
MIN_LIST_BYTES_PER_SECOND = 16 * 1024


class TooSlowError(Exception):
    """A request's wall-time budget (:class:`~recras_api.transport.deadline.Deadline`) ran out."""


#: Failures of the transfer itself: worth another try (unless the deadline ran out mid-list).
BROKEN_TRANSFERS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    TooSlowError,
)


def request_deadline(request_timeout: float, stream: bool) -> Deadline:
    """The budget of one try: ``request_timeout``, plus time by the bytes for a streamed list."""
    if not stream:
        return Deadline.start(request_timeout)
    return Deadline.start(request_timeout, MIN_LIST_BYTES_PER_SECOND, read_ahead=STREAM_CHUNK_BYTES)


def iter_chunks(response: requests.Response, deadline: Deadline) -> Iterator[bytes]:
    """The decoded body in pieces; each wait for one counts against ``deadline``.

    Raises :class:`TooSlowError` once the budget is spent (the watchdog has then shut
    the socket down, which is what ended a blocked read).
    """
    pieces = response.iter_content(chunk_size=STREAM_CHUNK_BYTES)
    while True:
        try:
            with deadline.waiting():
                piece = next(pieces, None)
        except BROKEN_TRANSFERS:
            if deadline.expired:
                raise TooSlowError from None
            raise
        except requests.exceptions.ContentDecodingError as exc:
            msg = f"{response.request.method} {response.url}: the compressed body is broken"
            raise errors.RecrasInvalidResponseError(
                msg, status=response.status_code, url=response.url
            ) from exc
        if deadline.expired:
            raise TooSlowError
        if piece is None:
            return
        deadline.add_bytes(len(piece))
        yield piece


def read_body(
    response: requests.Response, deadline: Deadline, method: str, *, cut: bool = False
) -> None:
    """Read the whole body (at most :data:`MAX_BODY_BYTES`) into ``response.content``.

    ``cut``: keep the first :data:`MAX_BODY_BYTES` of a longer body (error bodies, which
    are only quoted); otherwise a longer body is an error.
    """
    body = bytearray()
    try:
        for piece in iter_chunks(response, deadline):
            body += piece
            if len(body) > MAX_BODY_BYTES:
                if cut:
                    del body[MAX_BODY_BYTES:]
                    break
                msg = (
                    f"{method} {response.url} answered more than "
                    f"{MAX_BODY_BYTES // (1024 * 1024)} MiB (decompressed), far more than a "
                    "Recras answer holds; not read further."
                )
                raise errors.RecrasInvalidResponseError(
                    msg, status=response.status_code, url=response.url
                )
    finally:
        response.close()
    # requests keeps a read body here; .content, .text and .json() then use it.
    response._content = bytes(body)


def decode_json(
    response: requests.Response, method: str, parse_float: Callable[[str], Any] = float
) -> Any:
    """The JSON value of a body :func:`read_body` read, or an error quoting the body.

    ``parse_float`` is :func:`json.loads`'s (:class:`~decimal.Decimal`: exact fractions), and
    decodes ``NaN`` and ``Infinity`` too.
    """
    try:
        return json.loads(response.content, parse_float=parse_float, parse_constant=parse_float)
    except ValueError as exc:
        raise invalid_body(method, response, str(exc), response.content) from exc
    except RecursionError:
        # Not chained: the RecursionError's traceback would bury the message.
        reason = "nested too deeply to be a Recras answer"
        raise invalid_body(method, response, reason, response.content) from None


def invalid_body(
    method: str, response: requests.Response, reason: str, body: bytes = b""
) -> errors.RecrasError:
    """The error for a body that is not the JSON expected, quoting its start when given."""
    snippet = " ".join(body[: errors.BODY_SNIPPET_CHARS].decode("utf-8", "replace").split())
    return errors.RecrasInvalidResponseError(
        f"{method} {response.url} answered HTTP {response.status_code} with a body that is not "
        f"valid JSON ({reason})" + (f": {snippet!r}" if snippet else ""),
        status=response.status_code,
        url=response.url,
    )
