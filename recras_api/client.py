"""The one HTTP client for Recras API2, shared by tap-recras and target-recras.

:class:`RecrasClient` owns what every request to an instance shares: the session with its
base URL, authentication and connection pool, one try of a request (its gate of adaptive
concurrency, its measurement for the observers, its wall-time budget), the Recras errors a
final answer becomes, the reads every endpoint shares (a list, paged or not; one item by its
id-safe URL) and the customer endpoints. The limits that keep a hostile or broken server
from harming a run live beside it, each in its own module of :mod:`recras_api.transport`:
the retries (:mod:`~recras_api.transport.retry_policy`), redirects only within the
instance's origin (:mod:`~recras_api.transport.redirects`), body reading with its size cap
(:mod:`~recras_api.transport.bodies`), a wall-time budget per request
(:mod:`~recras_api.transport.deadline`); and the list's paging checks
(:mod:`recras_api.paging`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import requests

from recras_api import errors
from recras_api.capped_log import CappedLog
from recras_api.concurrency import AdaptiveConcurrency, Slot
from recras_api.ids import is_json_int, is_klant_id
from recras_api.measure import RequestMeasurement, RequestObserver, endpoint_template
from recras_api.paging import KLANTEN, ListEndpoint, iter_listed_batches
from recras_api.redact import install_log_filter
from recras_api.settings import ConnectionSettings
from recras_api.transport.bodies import BROKEN_TRANSFERS, decode_json, read_body, request_deadline
from recras_api.transport.deadline import Deadline, WatchedAdapter
from recras_api.transport.redirects import send_following_redirects
from recras_api.transport.retry_policy import (
    RETRIABLE_STATUSES,
    Failure,
    RetryHook,
    RetryPolicy,
    retry_after_seconds,
    why_given_up,
    with_retries,
)

#: The permission Recras requires for creating and updating customers.
WRITE_PERMISSION = "editContact"


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a ``POST`` or ``PUT``: the status and the id of the customer written."""

    status: int
    klant_id: int | None


def item_path(endpoint: ListEndpoint, item_id: object) -> str:
    """Return ``<list path>/<id>`` for a positive integer id; refuse anything else.

    Ids reach this from user input (target records, state) and from Recras's answers; a
    string such as ``"1/../x"`` must never become part of a URL.
    """
    if not is_klant_id(item_id):
        msg = f"a Recras {endpoint.noun} id must be a positive integer, got {item_id!r}"
        raise ValueError(msg)
    return f"{endpoint.path}/{quote(str(item_id), safe='')}"


def klant_path(klant_id: object) -> str:
    """Return ``/api2/klanten/<id>`` for a positive integer id; refuse anything else."""
    return item_path(KLANTEN, klant_id)


class RecrasClient:
    """A thread-safe client for one Recras instance.

    Every request goes through :meth:`request`, which retries 429, 5xx, timeouts and connection
    errors with exponential backoff and full jitter (or the server's ``Retry-After``), bounded
    by :class:`RetryPolicy`, and turns final failures into :class:`RecrasError` subclasses whose
    messages name the request and Recras's own explanation. Every try, retried or not, is
    reported to each of ``observers`` (:mod:`recras_api.measure`) and, with ``concurrency``,
    passes its gate (:mod:`recras_api.concurrency`), which adapts to 429 and 503 answers.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        logger: logging.Logger,
        *,
        pool_size: int = 10,
        retry: RetryPolicy | None = None,
        observers: Sequence[RequestObserver] = (),
        concurrency: AdaptiveConcurrency | None = None,
    ) -> None:
        self.settings = settings
        self._observers = tuple(observers)
        self._concurrency = concurrency
        self.logger = logger
        # Retries are logged a few times; the rest at DEBUG (counted in the run's summary).
        self._lines = CappedLog(logger)
        install_log_filter(logger)
        self.retry = retry or RetryPolicy()
        self._retries = 0
        self._lock = threading.Lock()
        self._session = requests.Session()
        adapter = WatchedAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {"Accept": "application/json", "User-Agent": settings.user_agent}
        )
        if settings.api_key:
            self._session.headers["Authorization"] = f"Bearer {settings.api_key}"
        else:
            logger.warning(
                "Using HTTP Basic auth with username and password, which Recras deprecated in "
                "July 2020. Create an API key in Recras and set api_key instead."
            )
            self._session.auth = (settings.username or "", settings.password or "")
        # requests would otherwise read ~/.netrc and proxy variables for every request.
        self._session.trust_env = False

    @property
    def retries(self) -> int:
        """How many retries this client has made so far (for run summaries)."""
        return self._retries

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def url(self, path: str) -> str:
        """Absolute URL for an API path such as ``/api2/klanten``."""
        return f"{self.settings.base_url}{path}"

    # -- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        stream: bool = False,
        on_retry: RetryHook | None = None,
    ) -> requests.Response:
        """Send a request, retrying retriable failures; return a 2xx response or raise.

        ``on_retry`` runs before every retry (not before giving up); whatever it raises
        ends the request.

        Without ``stream`` the body is read here, at most :data:`MAX_BODY_BYTES` after
        decompression, and the whole request (headers, body, same-origin redirects) must be
        done within ``request_timeout`` of waiting on the server; a request that is not
        counts as a ``WallTimeout`` failure and is retried like a timeout. With ``stream``,
        only the headers are bounded that way; the caller reads the body
        (:meth:`iter_list_batches` does so with its own budget).
        """
        response, deadline = self._request(
            method, url, params=params, json_body=json_body, on_retry=on_retry, stream=stream
        )
        deadline.close()
        return response

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        on_retry: RetryHook | None,
        stream: bool,
    ) -> tuple[requests.Response, Deadline]:
        """:meth:`request`, also returning the deadline the (streamed) body is read under.

        :func:`~recras_api.transport.retry_policy.with_retries` runs the tries; before each retry
        the caller's ``on_retry`` runs, and the retry is counted and logged.
        """

        def send(deadline: Deadline) -> requests.Response:
            return send_following_redirects(
                self._session,
                method,
                url,
                params=params,
                json_body=json_body,
                deadline=deadline,
                base_url=self.settings.base_url,
                request_timeout=self.settings.request_timeout,
            )

        endpoint = endpoint_template(url, self.settings.base_url)

        def attempt() -> tuple[requests.Response, Deadline] | Failure:
            return self._attempt(method, endpoint, send, stream)

        def before_retry(failure: Failure, tries: int, wait: float) -> None:
            if on_retry is not None:
                on_retry(failure.name)
            with self._lock:
                self._retries += 1
            self._lines.warning(
                "%s %s failed (%s); retry %d of %d in %.1f s",
                method,
                url,
                failure.name,
                tries,
                self.retry.max_tries - 1,
                wait,
            )

        def give_up(failure: Failure, tries: int, elapsed: float) -> NoReturn:
            reason = why_given_up(failure, tries, elapsed, self.retry)
            raise errors.RecrasUnavailableError(f"{method} {url} {reason}. Rerun later.", url=url)

        return with_retries(attempt, self.retry, before_retry=before_retry, give_up=give_up)

    def _attempt(
        self,
        method: str,
        endpoint: str,
        send: Callable[[Deadline], requests.Response],
        stream: bool,
    ) -> tuple[requests.Response, Deadline] | Failure:
        """One try (``send``): the response (body read unless ``stream``) or a retriable failure.

        Measured from sending to the body read (to the headers with ``stream``) and reported
        to the observers, however it ends. It holds a slot of the client's ``concurrency``
        (if any) meanwhile, and tells it the status.
        """
        with self._gate() as slot:
            deadline = request_deadline(self.settings.request_timeout, stream)
            started = time.monotonic()
            status: int | None = None
            problem: str | None = None
            try:
                response = send(deadline)
                status = response.status_code
                if response.status_code < 400:
                    if not stream:
                        read_body(response, deadline, method)
                    return response, deadline
                if response.status_code not in RETRIABLE_STATUSES:
                    read_body(response, deadline, method, cut=True)
                    raise self._final_error(method, response)
                response.close()
                failure = Failure(f"HTTP {response.status_code}", retry_after_seconds(response))
            except BROKEN_TRANSFERS as exc:
                failure = Failure("WallTimeout" if deadline.expired else type(exc).__name__)
                problem = failure.name
            except BaseException as exc:
                problem = type(exc).__name__
                deadline.close()
                raise
            finally:
                seconds = time.monotonic() - started
                if slot is not None:
                    slot.done(status)
                self._report(RequestMeasurement(method, endpoint, status, seconds, problem))
            deadline.close()
            return failure

    def _gate(self) -> AbstractContextManager[Slot | None]:
        """A slot of the adaptive concurrency for one try; nothing without one."""
        if self._concurrency is None:
            return contextlib.nullcontext()
        return self._concurrency.slot()

    def _report(self, measurement: RequestMeasurement) -> None:
        for observe in self._observers:
            observe(measurement)

    def _final_error(self, method: str, response: requests.Response) -> errors.RecrasError:
        status = response.status_code
        where = f"{method} {response.url}"
        message = errors.recras_message(response)
        if status == 401:
            hint = (
                "Check the api_key setting: it must be an API key created in Recras"
                if self.settings.api_key
                else "Check the username and password settings (or set api_key instead)"
            )
            return errors.RecrasAuthError(
                f"Recras rejected the credentials (401) for {where}: {message}. {hint}.",
                status=status,
                url=response.url,
            )
        if status == 403:
            permission = WRITE_PERMISSION if method in {"POST", "PUT"} else "read customers"
            return errors.RecrasPermissionError(
                f"Recras refused {where} (403): {message}. The Recras user behind these "
                f"credentials needs the {permission} permission.",
                status=status,
                url=response.url,
            )
        if status == 404:
            return errors.RecrasNotFoundError(
                f"{where} not found (404): {message}", status=status, url=response.url
            )
        if status == 406:
            return errors.RecrasInputRejectedError(message, status=status, url=response.url)
        return errors.RecrasHTTPError(
            f"{where} failed with HTTP {status}: {message}", status=status, url=response.url
        )

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET a URL and return its decoded JSON body (fractions as exact ``Decimal``)."""
        return decode_json(self.request("GET", url, params=params), "GET", Decimal)

    # -- reads of every endpoint ----------------------------------------------------------

    def iter_list_batches(
        self, endpoint: ListEndpoint, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield every item of ``GET <endpoint.path>`` (with ``params``), in decoded batches.

        Any list may page [vendor notes]: a ``Link: rel="next"`` header is followed
        whenever the server sends one, within bounds that end a server paging forever: a
        page without items ends the list, no page is read twice, and no page after the count
        a ``X-Total-Count`` header announced is requested. What would silently skip items
        is an error instead: an item beyond the announced count, a next link once the count
        is reached, and a count that changes between pages (the list changed meanwhile); see
        :mod:`recras_api.paging`. Bodies are parsed as they arrive, so memory does not grow
        with the number of items; each page must arrive within its
        :func:`~recras_api.transport.bodies.request_deadline` (``request_timeout`` plus
        :data:`~recras_api.transport.bodies.MIN_LIST_BYTES_PER_SECOND`). Fractions decode as exact
        ``Decimal``.
        """

        def fetch_page(
            url: str, params: Mapping[str, Any] | None
        ) -> tuple[requests.Response, Deadline]:
            return self._request(
                "GET", url, params=params, json_body=None, on_retry=None, stream=True
            )

        yield from iter_listed_batches(
            fetch_page,
            self.url(endpoint.path),
            params,
            endpoint=endpoint,
            base_url=self.settings.base_url,
            request_timeout=self.settings.request_timeout,
            logger=self.logger,
        )

    def get_object(self, path: str) -> dict[str, Any]:
        """``GET <path>``: one JSON object, such as an item's detail.

        Raises :class:`RecrasNotFoundError` when it does not exist (any more).
        """
        body = self.get_json(self.url(path))
        if not isinstance(body, dict):
            msg = f"GET {path} returned {type(body).__name__}, not an object"
            raise errors.RecrasInvalidResponseError(msg)
        return body

    # -- customers ------------------------------------------------------------------------

    def iter_klanten(self, min_id: int | None = None) -> Iterator[dict[str, Any]]:
        """Every customer of :meth:`iter_klanten_batches`, one at a time."""
        return chain.from_iterable(self.iter_klanten_batches(min_id))

    def iter_klanten_batches(self, min_id: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every customer from ``GET /api2/klanten`` (``id>`` = ``min_id``, inclusive).

        The list is documented without paging; it is read as every list is
        (:meth:`iter_list_batches`).
        """
        return self.iter_list_batches(KLANTEN, {"id>": min_id} if min_id is not None else None)

    def get_klant(self, klant_id: int) -> dict[str, Any]:
        """``GET /api2/klanten/<id>``: one customer with its ``contactpersonen``.

        Raises :class:`RecrasNotFoundError` when the customer does not exist (any more).
        """
        return self.get_object(klant_path(klant_id))

    def create_klant(
        self, body: Mapping[str, Any], *, on_retry: RetryHook | None = None
    ) -> WriteResult:
        """``POST /api2/klanten``: 201 when created, 200 when merged into an existing one.

        A POST is not idempotent: after a failure outside
        :data:`~recras_api.transport.retry_policy.UNPROCESSED_FAILURES`,
        Recras may have created the customer before the answer got lost. ``on_retry`` lets
        the caller look before the retry (see target_recras.run.upsert).
        """
        return self._write("POST", self.url("/api2/klanten"), body, on_retry)

    def update_klant(self, klant_id: int, body: Mapping[str, Any]) -> WriteResult:
        """``PUT /api2/klanten/<id>``; a given ``contactpersonen`` list replaces the old one."""
        return self._write("PUT", self.url(klant_path(klant_id)), body)

    def _write(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any],
        on_retry: RetryHook | None = None,
    ) -> WriteResult:
        response = self.request(method, url, json_body=body, on_retry=on_retry)
        decoded = decode_json(response, method) if response.content.strip() else {}
        if not isinstance(decoded, dict):
            decoded = {}
        return WriteResult(
            status=response.status_code,
            klant_id=_klant_id(decoded, response.headers.get("Location")),
        )


def _klant_id(body: Mapping[str, Any], location: str | None) -> int | None:
    """The customer id from the answer's body, else from its ``Location`` header."""
    candidate = body.get("id")
    if is_json_int(candidate):
        return candidate
    if location:
        last = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        if last.isdigit():
            return int(last)
    return None
