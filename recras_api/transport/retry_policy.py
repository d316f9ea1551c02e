"""When a request to Recras is tried again, how long to wait first, and when to give up.

It owns the retry policy the client applies to every request: which answers and failures
are worth another try (:data:`RETRIABLE_STATUSES`), which of them certainly left Recras
untouched (:data:`UNPROCESSED_FAILURES`), the bounds (:class:`RetryPolicy`), the waits
(the server's ``Retry-After`` when usable, else exponential backoff with full jitter) and the
``backoff`` loop that runs the tries. The client decides what one try is; this module only
decides whether and when there is another, so the policy can be read and tested on its own.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import backoff
import requests
from backoff.types import Details

#: Statuses worth another try: rate limiting and server-side failures.
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Failures after which Recras certainly did not process the request (for ``on_retry``).
UNPROCESSED_FAILURES = frozenset({"HTTP 429", "ConnectTimeout"})

#: Called with the failure (``"HTTP 503"``, ``"ReadTimeout"``, ...) before a retry; may raise
#: to stop retrying (e.g. when it finds that a failed POST did create the customer).
RetryHook = Callable[[str], None]

_Outcome = TypeVar("_Outcome")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a request that failed in a retriable way."""

    max_tries: int = 8
    max_seconds: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 60.0


@dataclass(frozen=True)
class Failure:
    """A try that failed in a retriable way, and the server's ``Retry-After`` in seconds.

    ``name`` (``"HTTP 503"``, ``"ReadTimeout"``, ``"WallTimeout"``) is what logs, errors and
    :data:`RetryHook` see.
    """

    name: str
    retry_after: float | None = None


def why_given_up(failure: Failure, tries: int, elapsed: float, policy: RetryPolicy) -> str:
    """Why a request is not tried again, in the user's terms (the end of a sentence)."""
    tried = f"after {tries} {'try' if tries == 1 else 'tries'} in {elapsed:.0f} s"
    wait = failure.retry_after
    if wait is not None and elapsed + wait > policy.max_seconds:
        return (
            f"answered {failure.name} and asked to wait {wait:,.0f} s before another try "
            f"(Retry-After), longer than the {policy.max_seconds:,.0f} s a request may take "
            f"in all ({tried}); Recras is rate limiting or down for maintenance"
        )
    return f"kept failing ({failure.name}) {tried}; Recras may be down or rate limiting"


def retry_after_seconds(response: requests.Response) -> float | None:
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


def with_retries(
    attempt: Callable[[], _Outcome | Failure],
    policy: RetryPolicy,
    *,
    before_retry: Callable[[Failure, int, float], None],
    give_up: Callable[[Failure, int, float], NoReturn],
) -> _Outcome:
    """Run ``attempt`` until it returns something other than a :class:`Failure`.

    backoff runs the tries and :func:`wait_times` says how long to wait (or that the budget
    is spent). ``before_retry`` gets the failure, the tries so far and the wait before
    each retry; whatever it raises ends the request. ``give_up`` gets the last failure, the
    tries and the seconds spent, and must raise.
    """

    def on_backoff(details: Details) -> None:
        before_retry(details["value"], details["tries"], details["wait"])

    def on_giveup(details: Details) -> None:
        give_up(details["value"], details["tries"], details["elapsed"])

    retrying = backoff.on_predicate(
        functools.partial(wait_times, policy),
        lambda outcome: isinstance(outcome, Failure),
        max_tries=policy.max_tries,
        max_time=policy.max_seconds,
        jitter=None,  # wait_times jitters its own backoff, never the server's Retry-After
        on_backoff=on_backoff,
        on_giveup=on_giveup,
        logger=None,  # before_retry logs, through the client's (redacting) logger
    )
    outcome = retrying(attempt)()
    assert not isinstance(outcome, Failure)  # give_up raised
    return outcome


def wait_times(policy: RetryPolicy) -> Generator[float, Failure, None]:
    """backoff's wait generator: how long to wait after each failure it is sent.

    The server's ``Retry-After`` when it gave one, else exponential backoff with full
    jitter; it stops (backoff gives up) when the wait would end past ``max_seconds``, so
    a request is not retried early against the server's word, nor after the budget.
    """
    started = time.monotonic()
    backoffs = backoff.expo(base=2, factor=policy.base_delay, max_value=policy.max_delay)
    next(backoffs)  # backoff's generators start with a priming value
    failure = yield 0.0  # backoff primes this one too
    while True:
        if failure.retry_after is not None:
            wait = failure.retry_after
        else:
            wait = backoff.full_jitter(next(backoffs))
        if time.monotonic() - started + wait > policy.max_seconds:
            return
        failure = yield wait
