"""Reading a list endpoint page by page, and the checks that keep it from skipping any item.

It owns how a list such as ``GET /api2/klanten`` is read once its pages can be fetched: its
items are parsed as they arrive (:mod:`recras_api.jsonstream`), ``Link: rel="next"`` is followed
within bounds that end a server paging forever, and the announced ``X-Total-Count`` is held
to: what would silently skip items is an error instead. The client fetches each page
(with its retries, redirects and budget); this module decides what the pages mean, so the
rules of the list read as one piece. Every list of API2 is read the same way
[vendor notes, "Conventions of every list endpoint"]; a :class:`ListEndpoint` names the list
and what its items are called in messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

import requests

from recras_api import errors
from recras_api.jsonstream import JSONStreamError, iter_json_array_batches
from recras_api.transport.bodies import (
    BROKEN_TRANSFERS,
    MIN_LIST_BYTES_PER_SECOND,
    TooSlowError,
    invalid_body,
    iter_chunks,
)
from recras_api.transport.deadline import Deadline
from recras_api.transport.redirects import origin

#: Sends ``GET url`` (with ``params``) and returns the streamed answer and its budget.
FetchPage = Callable[[str, Mapping[str, Any] | None], tuple[requests.Response, Deadline]]


@dataclass(frozen=True)
class ListEndpoint:
    """A list of API2 (``path``), and what one of its items and several are called in messages."""

    path: str
    noun: str
    plural: str


#: The customer list.
KLANTEN = ListEndpoint("/api2/klanten", "customer", "customers")


def iter_listed_batches(
    fetch_page: FetchPage,
    url: str,
    params: Mapping[str, Any] | None,
    *,
    endpoint: ListEndpoint,
    base_url: str,
    request_timeout: float,
    logger: logging.Logger,
) -> Iterator[list[dict[str, Any]]]:
    """Yield every item of the list at ``url`` in batches, following next-page links.

    Batches are the runs of items decoded together (:mod:`recras_api.jsonstream`):
    handing them on whole spares a generator step per item in every layer.

    A page without items ends the list, no page is read twice, and no page after the count
    a ``X-Total-Count`` header announced is requested. An item beyond the announced count,
    a next link once the count is reached, a count that changes between pages (the list
    changed meanwhile) and a next link to another origin are errors.
    """
    next_page: str | None = url
    seen_pages: set[str] = set()
    yielded = 0
    announced: int | None = None
    while next_page is not None:
        response, deadline = fetch_page(next_page, params)
        total = total_count(response)
        if announced is not None and total is not None and total != announced:
            response.close()
            deadline.close()
            msg = (
                f"The {endpoint.noun} list changed while it was being read: GET {response.url} "
                f"announced X-Total-Count {total}, an earlier page {announced}. Paging over "
                f"a changing list can skip {endpoint.plural} (a deletion shifts the later pages), "
                "so the run stops before its bookmark moves past them. Rerun; it resumes "
                "from the last state."
            )
            raise errors.RecrasInvalidResponseError(msg, url=response.url)
        announced = total if total is not None else announced
        on_page = 0
        try:
            for batch in _iter_page(response, deadline, request_timeout, endpoint.noun):
                if total is not None and yielded + len(batch) > total:
                    # A later page may announce a count below what earlier pages listed.
                    yield batch[: max(total - yielded, 0)]
                    msg = (
                        f"GET {response.url} sent more {endpoint.plural} than the {total} its "
                        "X-Total-Count header announced; stopping rather than guessing "
                        "which to trust. Rerun; report it if it persists."
                    )
                    raise errors.RecrasInvalidResponseError(msg, url=response.url)
                on_page += len(batch)
                yielded += len(batch)
                yield batch
        finally:
            response.close()
            deadline.close()
        next_url = response.links.get("next", {}).get("url")
        next_page = urljoin(response.url, next_url) if next_url else None
        params = None  # the next link carries the query string itself
        if next_page is None:
            break
        if on_page == 0:
            logger.debug("The list ends at %s (%d %s)", response.url, yielded, endpoint.plural)
            break
        if total is not None and yielded >= total:
            msg = (
                f"GET {response.url} announced X-Total-Count {total} and {yielded} "
                f"{endpoint.plural} were listed, yet it links to another page ({next_page}). "
                f"Reading on could page forever and stopping here could skip {endpoint.plural}, "
                "so the run stops before "
                "its bookmark moves. Report it if it persists."
            )
            raise errors.RecrasInvalidResponseError(msg, url=next_page)
        if next_page in seen_pages or origin(next_page) != origin(base_url):
            msg = f"Recras sent an unusable next-page link {next_page}; stopping."
            raise errors.RecrasInvalidResponseError(msg, url=next_page)
        seen_pages.add(next_page)


def total_count(response: requests.Response) -> int | None:
    """The ``X-Total-Count`` a paged list announces, when it is a usable count."""
    value = response.headers.get("X-Total-Count", "").strip()
    return int(value) if value.isdigit() else None


def _iter_page(
    response: requests.Response, deadline: Deadline, request_timeout: float, noun: str
) -> Iterator[list[dict[str, Any]]]:
    """The items of one streamed page, in the batches they were decoded in.

    A broken or slow transfer is a clear error, and so is an item that is not an object,
    after the items before it. Numbers with a fraction are decoded as :class:`~decimal.Decimal`
    (money: exactly the digits Recras sent, never a binary float).
    """
    try:
        chunks = iter_chunks(response, deadline)
        for batch in iter_json_array_batches(chunks, parse_float=Decimal):
            for position, item in enumerate(batch):
                if type(item) is not dict:  # decoded JSON: no subclasses
                    yield batch[:position]
                    msg = f"expected {noun} objects, got {type(item).__name__}"
                    raise invalid_body("GET", response, msg)
            yield batch
    except JSONStreamError as exc:
        raise invalid_body("GET", response, str(exc)) from exc
    except TooSlowError as exc:
        msg = (
            f"GET {response.url} arrived too slowly: {deadline.received} bytes in "
            f"{deadline.spent_seconds():.0f} s of waiting, below the "
            f"{MIN_LIST_BYTES_PER_SECOND // 1024} KiB/s (after request_timeout "
            f"{request_timeout:g} s) a list must keep up. Nothing is lost: "
            "rerun to resume from the last state."
        )
        raise errors.RecrasUnavailableError(msg, url=response.url) from exc
    except BROKEN_TRANSFERS as exc:
        msg = (
            f"The connection to Recras broke while reading GET {response.url}: "
            f"{type(exc).__name__}. Nothing is lost: rerun to resume from the last state."
        )
        raise errors.RecrasUnavailableError(msg, url=response.url) from exc
