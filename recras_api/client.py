"""The one HTTP layer for Recras API2, shared by tap-recras and target-recras.

It owns everything both plugins must agree on: base URL handling, authentication, retries
with backoff (honouring ``Retry-After``), Recras error parsing, id-safe URL building, paging
through ``Link: rel="next"`` and stream-parsing of list bodies, and the limits that keep a
hostile or broken server from harming a run: redirects only within the instance's origin
(:data:`MAX_REDIRECTS`), bodies of at most :data:`MAX_BODY_BYTES` decompressed, a wall-time
budget per request (:mod:`recras_api.deadline`) and a list that ends at an empty page or at
the announced ``X-Total-Count``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import backoff
import requests
from backoff.types import Details

from recras_api import errors
from recras_api.concurrency import AdaptiveConcurrency, Slot
from recras_api.deadline import Deadline, WatchedAdapter
from recras_api.ids import is_json_int, is_klant_id
from recras_api.jsonstream import JSONStreamError, iter_json_array
from recras_api.measure import RequestMeasurement, RequestObserver, endpoint_template
from recras_api.redact import install_log_filter
from recras_api.settings import ConnectionSettings

#: Statuses worth another try: rate limiting and server-side failures.
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: The permission Recras requires for creating and updating customers.
WRITE_PERMISSION = "editContact"
#: Size of the pieces a body is read (and a list parsed) in.
STREAM_CHUNK_BYTES = 64 * 1024
#: Largest decompressed body read whole (details, write answers); error bodies are cut here.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Same-origin redirects followed per request; a redirect to another origin is never followed.
MAX_REDIRECTS = 5
#: Redirects after which a POST or PUT would be resent as a GET (its body dropped).
METHOD_CHANGING_REDIRECTS = frozenset({301, 302, 303})
#: Slowest average speed accepted for the streamed customer list once its headers are in
#: (on top of ``request_timeout``). Far below any real link, so no legitimate list trips it,
#: while a server trickling a byte at a time is stopped within seconds.
MIN_LIST_BYTES_PER_SECOND = 16 * 1024
#: Failures after which Recras certainly did not process the request (for ``on_retry``).
UNPROCESSED_FAILURES = frozenset({"HTTP 429", "ConnectTimeout"})


class _TooSlowError(Exception):
    """A request's wall-time budget (:class:`~recras_api.deadline.Deadline`) ran out."""


#: Failures of the transfer itself: worth another try (unless the deadline ran out mid-list).
_BROKEN_TRANSFERS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    _TooSlowError,
)


@dataclass(frozen=True)
class _Failure:
    """A try that failed in a retriable way, and the server's ``Retry-After`` in seconds.

    ``name`` (``"HTTP 503"``, ``"ReadTimeout"``, ``"WallTimeout"``) is what logs, errors and
    :data:`RetryHook` see.
    """

    name: str
    retry_after: float | None = None


#: Called with the failure (``"HTTP 503"``, ``"ReadTimeout"``, ...) before a retry; may raise
#: to stop retrying (e.g. when it finds that a failed POST did create the customer).
RetryHook = Callable[[str], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a request that failed in a retriable way."""

    max_tries: int = 8
    max_seconds: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 60.0


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a ``POST`` or ``PUT``: the status and the id of the customer written."""

    status: int
    klant_id: int | None


def klant_path(klant_id: object) -> str:
    """Return ``/api2/klanten/<id>`` for a positive integer id; refuse anything else.

    Ids reach this from user input (target records, state); a string such as ``"1/../x"``
    must never become part of a URL.
    """
    if not is_klant_id(klant_id):
        msg = f"a Recras customer id must be a positive integer, got {klant_id!r}"
        raise ValueError(msg)
    return f"/api2/klanten/{quote(str(klant_id), safe='')}"


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
        (:meth:`iter_klanten` does so with its own budget).
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

        backoff runs the tries: :meth:`_waits` says how long to wait (or that the budget
        is spent), ``on_backoff`` runs the caller's ``on_retry``, counts and logs each retry.
        """

        def send(deadline: Deadline) -> requests.Response:
            return self._send_following_redirects(method, url, params, json_body, deadline)

        endpoint = endpoint_template(url, self.settings.base_url)

        def attempt() -> tuple[requests.Response, Deadline] | _Failure:
            return self._attempt(method, endpoint, send, stream)

        def before_retry(details: Details) -> None:
            failure = details["value"].name
            if on_retry is not None:
                on_retry(failure)
            with self._lock:
                self._retries += 1
            self.logger.warning(
                "%s %s failed (%s); retry %d of %d in %.1f s",
                method,
                url,
                failure,
                details["tries"],
                self.retry.max_tries - 1,
                details["wait"],
            )

        def give_up(details: Details) -> None:
            msg = (
                f"{method} {url} kept failing ({details['value'].name}) after "
                f"{details['tries']} tries in {details['elapsed']:.0f} s; Recras may be down "
                "or rate limiting. Rerun later."
            )
            raise errors.RecrasUnavailableError(msg, url=url)

        retrying = backoff.on_predicate(
            self._waits,
            lambda outcome: isinstance(outcome, _Failure),
            max_tries=self.retry.max_tries,
            max_time=self.retry.max_seconds,
            jitter=None,  # _waits jitters its own backoff, never the server's Retry-After
            on_backoff=before_retry,
            on_giveup=give_up,
            logger=None,  # before_retry logs, through the client's (redacting) logger
        )
        outcome = retrying(attempt)()
        assert not isinstance(outcome, _Failure)  # give_up raised
        return outcome

    def _attempt(
        self,
        method: str,
        endpoint: str,
        send: Callable[[Deadline], requests.Response],
        stream: bool,
    ) -> tuple[requests.Response, Deadline] | _Failure:
        """One try (``send``): the response (body read unless ``stream``) or a retriable failure.

        Measured from sending to the body read (to the headers with ``stream``) and reported
        to the observers, however it ends. It holds a slot of the client's ``concurrency``
        (if any) meanwhile, and tells it the status.
        """
        with self._gate() as slot:
            deadline = self._deadline(stream)
            started = time.monotonic()
            status: int | None = None
            problem: str | None = None
            try:
                response = send(deadline)
                status = response.status_code
                if response.status_code < 400:
                    if not stream:
                        self._read_body(response, deadline, method)
                    return response, deadline
                if response.status_code not in RETRIABLE_STATUSES:
                    self._read_body(response, deadline, method, cut=True)
                    raise self._final_error(method, response)
                response.close()
                failure = _Failure(f"HTTP {response.status_code}", _retry_after_seconds(response))
            except _BROKEN_TRANSFERS as exc:
                failure = _Failure("WallTimeout" if deadline.expired else type(exc).__name__)
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

    def _waits(self) -> Generator[float, _Failure, None]:
        """backoff's wait generator: how long to wait after each failure it is sent.

        The server's ``Retry-After`` when it gave one, else exponential backoff with full
        jitter; it stops (backoff gives up) when the wait would end past ``max_seconds``, so
        a request is not retried early against the server's word, nor after the budget.
        """
        started = time.monotonic()
        backoffs = backoff.expo(
            base=2, factor=self.retry.base_delay, max_value=self.retry.max_delay
        )
        next(backoffs)  # backoff's generators start with a priming value
        failure = yield 0.0  # backoff primes this one too
        while True:
            if failure.retry_after is not None:
                wait = failure.retry_after
            else:
                wait = backoff.full_jitter(next(backoffs))
            if time.monotonic() - started + wait > self.retry.max_seconds:
                return
            failure = yield wait

    def _deadline(self, stream: bool) -> Deadline:
        timeout = self.settings.request_timeout
        if not stream:
            return Deadline(timeout)
        return Deadline(timeout, MIN_LIST_BYTES_PER_SECOND, read_ahead=STREAM_CHUNK_BYTES)

    def _send_following_redirects(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        deadline: Deadline,
    ) -> requests.Response:
        """Send once, following at most :data:`MAX_REDIRECTS` redirects within the origin.

        requests' own redirect handling would follow any host (only dropping the
        Authorization header), re-send a 307's body there and turn a POST into a GET on a
        302; here a redirect to another origin (scheme, host, port) stops the request before
        anything is sent there, and a write is only redirected by 307/308, which keep the
        method and body.
        """
        for _hop in range(MAX_REDIRECTS + 1):
            with deadline.waiting():
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    stream=True,
                    allow_redirects=False,
                    timeout=self.settings.request_timeout,
                )
            if deadline.expired:
                response.close()
                raise _TooSlowError
            if not response.is_redirect:
                return response
            response.close()
            target = urljoin(response.url, response.headers["Location"])
            status = response.status_code
            if origin(target) != origin(self.settings.base_url):
                msg = (
                    f"{method} {response.url} was redirected ({status}) to another origin, "
                    f"{origin(target)}; requests for {origin(self.settings.base_url)} are never "
                    "sent elsewhere. Check base_url (is it the instance's own address?)."
                )
                raise errors.RecrasRedirectError(msg, status=status, url=response.url)
            if method not in {"GET", "HEAD"} and status in METHOD_CHANGING_REDIRECTS:
                msg = (
                    f"{method} {response.url} was redirected with {status}, which would resend "
                    "it as a GET without its body; not followed. Check base_url."
                )
                raise errors.RecrasRedirectError(msg, status=status, url=response.url)
            url, params = target, None  # the Location carries its own query string
        msg = f"{method} {url}: more than {MAX_REDIRECTS} redirects; stopping. Check base_url."
        raise errors.RecrasRedirectError(msg, url=url)

    def _chunks(self, response: requests.Response, deadline: Deadline) -> Iterator[bytes]:
        """The decoded body in pieces; each wait for one counts against ``deadline``.

        Raises :class:`_TooSlowError` once the budget is spent (the watchdog has then shut
        the socket down, which is what ended a blocked read).
        """
        pieces = response.iter_content(chunk_size=STREAM_CHUNK_BYTES)
        while True:
            try:
                with deadline.waiting():
                    piece = next(pieces, None)
            except _BROKEN_TRANSFERS:
                if deadline.expired:
                    raise _TooSlowError from None
                raise
            except requests.exceptions.ContentDecodingError as exc:
                msg = f"{response.request.method} {response.url}: the compressed body is broken"
                raise errors.RecrasInvalidResponseError(
                    msg, status=response.status_code, url=response.url
                ) from exc
            if deadline.expired:
                raise _TooSlowError
            if piece is None:
                return
            deadline.add_bytes(len(piece))
            yield piece

    def _read_body(
        self, response: requests.Response, deadline: Deadline, method: str, *, cut: bool = False
    ) -> None:
        """Read the whole body (at most :data:`MAX_BODY_BYTES`) into ``response.content``.

        ``cut``: keep the first :data:`MAX_BODY_BYTES` of a longer body (error bodies, which
        are only quoted); otherwise a longer body is an error.
        """
        body = bytearray()
        try:
            for piece in self._chunks(response, deadline):
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
        """GET a URL and return its decoded JSON body."""
        return self._decode(self.request("GET", url, params=params), "GET")

    def _decode(self, response: requests.Response, method: str) -> Any:
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise _invalid_body(method, response, str(exc), response.content) from exc
        except RecursionError:
            # Not chained: the RecursionError's traceback would bury the message.
            reason = "nested too deeply to be a Recras answer"
            raise _invalid_body(method, response, reason, response.content) from None

    # -- customers ------------------------------------------------------------------------

    def iter_klanten(self, min_id: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every customer from ``GET /api2/klanten`` (``id>`` = ``min_id``, inclusive).

        The list is documented without paging, but a ``Link: rel="next"`` header is followed
        whenever the server sends one, within bounds that end a server paging forever: a
        page without items ends the list, no page is read twice, and no page after the count
        a ``X-Total-Count`` header announced is requested. What would silently skip customers
        is an error instead: an item beyond the announced count, a next link once the count
        is reached, and a count that changes between pages (the list changed meanwhile).
        Bodies are parsed as they arrive, so memory does not grow with the number of
        customers; each page must arrive within its
        :meth:`_deadline` (``request_timeout`` plus :data:`MIN_LIST_BYTES_PER_SECOND`).
        """
        url: str | None = self.url("/api2/klanten")
        params: dict[str, Any] | None = {"id>": min_id} if min_id is not None else None
        seen_pages: set[str] = set()
        yielded = 0
        announced: int | None = None
        while url is not None:
            response, deadline = self._request(
                "GET", url, params=params, json_body=None, on_retry=None, stream=True
            )
            total = _total_count(response)
            if announced is not None and total is not None and total != announced:
                response.close()
                deadline.close()
                msg = (
                    f"The customer list changed while it was being read: GET {response.url} "
                    f"announced X-Total-Count {total}, an earlier page {announced}. Paging over "
                    "a changing list can skip customers (a deletion shifts the later pages), "
                    "so the run stops before its bookmark moves past them. Rerun; it resumes "
                    "from the last state."
                )
                raise errors.RecrasInvalidResponseError(msg, url=response.url)
            announced = total if total is not None else announced
            on_page = 0
            try:
                for item in self._iter_array(response, deadline):
                    if total is not None and yielded >= total:
                        msg = (
                            f"GET {response.url} sent more customers than the {total} its "
                            "X-Total-Count header announced; stopping rather than guessing "
                            "which to trust. Rerun; report it if it persists."
                        )
                        raise errors.RecrasInvalidResponseError(msg, url=response.url)
                    on_page += 1
                    yielded += 1
                    yield item
            finally:
                response.close()
                deadline.close()
            next_url = response.links.get("next", {}).get("url")
            url = urljoin(response.url, next_url) if next_url else None
            params = None  # the next link carries the query string itself
            if url is None:
                break
            if on_page == 0:
                self.logger.debug("The list ends at %s (%d customers)", response.url, yielded)
                break
            if total is not None and yielded >= total:
                msg = (
                    f"GET {response.url} announced X-Total-Count {total} and {yielded} customers "
                    f"were listed, yet it links to another page ({url}). Reading on could page "
                    "forever and stopping here could skip customers, so the run stops before "
                    "its bookmark moves. Report it if it persists."
                )
                raise errors.RecrasInvalidResponseError(msg, url=url)
            if url in seen_pages or origin(url) != origin(self.settings.base_url):
                msg = f"Recras sent an unusable next-page link {url}; stopping."
                raise errors.RecrasInvalidResponseError(msg, url=url)
            seen_pages.add(url)

    def _iter_array(
        self, response: requests.Response, deadline: Deadline
    ) -> Iterator[dict[str, Any]]:
        try:
            for item in iter_json_array(self._chunks(response, deadline)):
                if not isinstance(item, dict):
                    msg = f"expected customer objects, got {type(item).__name__}"
                    raise _invalid_body("GET", response, msg)
                yield item
        except JSONStreamError as exc:
            raise _invalid_body("GET", response, str(exc)) from exc
        except _TooSlowError as exc:
            msg = (
                f"GET {response.url} arrived too slowly: {deadline.received} bytes in "
                f"{deadline.spent_seconds():.0f} s of waiting, below the "
                f"{MIN_LIST_BYTES_PER_SECOND // 1024} KiB/s (after request_timeout "
                f"{self.settings.request_timeout:g} s) a list must keep up. Nothing is lost: "
                "rerun to resume from the last state."
            )
            raise errors.RecrasUnavailableError(msg, url=response.url) from exc
        except _BROKEN_TRANSFERS as exc:
            msg = (
                f"The connection to Recras broke while reading GET {response.url}: "
                f"{type(exc).__name__}. Nothing is lost: rerun to resume from the last state."
            )
            raise errors.RecrasUnavailableError(msg, url=response.url) from exc

    def get_klant(self, klant_id: int) -> dict[str, Any]:
        """``GET /api2/klanten/<id>``: one customer with its ``contactpersonen``.

        Raises :class:`RecrasNotFoundError` when the customer does not exist (any more).
        """
        body = self.get_json(self.url(klant_path(klant_id)))
        if not isinstance(body, dict):
            msg = f"GET {klant_path(klant_id)} returned {type(body).__name__}, not an object"
            raise errors.RecrasInvalidResponseError(msg)
        return body

    def create_klant(
        self, body: Mapping[str, Any], *, on_retry: RetryHook | None = None
    ) -> WriteResult:
        """``POST /api2/klanten``: 201 when created, 200 when merged into an existing one.

        A POST is not idempotent: after a failure outside :data:`UNPROCESSED_FAILURES`,
        Recras may have created the customer before the answer got lost. ``on_retry`` lets
        the caller look before the retry (see target_recras.upsert).
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
        decoded = self._decode(response, method) if response.content.strip() else {}
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


def _retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` in seconds; ``None`` (backoff) for dates and for unusable numbers.

    Only the delta-seconds form is read; ``nan``, ``inf`` and negative values are ignored
    rather than trusted (``time.sleep(nan)`` raises, ``inf`` would give up at once).
    """
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _total_count(response: requests.Response) -> int | None:
    """The ``X-Total-Count`` a paged list announces, when it is a usable count."""
    value = response.headers.get("X-Total-Count", "").strip()
    return int(value) if value.isdigit() else None


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (default ports dropped), without credentials."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _invalid_body(
    method: str, response: requests.Response, reason: str, body: bytes = b""
) -> errors.RecrasError:
    snippet = " ".join(body[: errors.BODY_SNIPPET_CHARS].decode("utf-8", "replace").split())
    return errors.RecrasInvalidResponseError(
        f"{method} {response.url} answered HTTP {response.status_code} with a body that is not "
        f"valid JSON ({reason})" + (f": {snippet!r}" if snippet else ""),
        status=response.status_code,
        url=response.url,
    )
