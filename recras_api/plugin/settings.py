"""The settings schema both plugins declare: the singer-sdk side of :mod:`recras_api.settings`.

Plugin glue, kept apart from the HTTP client: this module uses singer-sdk's public typing
helpers, so only the plugins import it (never :mod:`recras_api` itself, nor the client). Both
plugins declare the same connection settings, so Meltano users configure them once; the
values are then parsed by :meth:`recras_api.settings.ConnectionSettings.from_config`.
"""

from __future__ import annotations

from singer_sdk import metrics
from singer_sdk import typing as th

from recras_api.plugin.metrics import LOG_REQUEST_METRICS
from recras_api.settings import DEFAULT_MAX_WORKERS, DEFAULT_REQUEST_TIMEOUT, MAX_WORKERS_LIMIT


def connection_properties(default_user_agent: str) -> list[th.Property]:
    """The settings every Recras plugin declares, in ``--about`` order."""
    return [
        th.Property(
            "base_url",
            th.StringType,
            required=True,
            title="Base URL",
            description=(
                "Address of your Recras instance, e.g. `https://demo.recras.nl` or "
                "`https://demo.recras.com`. Must be `https://`; plain `http://` is accepted "
                "only for loopback hosts (a local sandbox)."
            ),
            examples=["https://demo.recras.nl"],
        ),
        th.Property(
            "api_key",
            th.StringType,
            secret=True,
            title="API key",
            description=(
                "Secret. API key created in the Recras UI, sent as `Authorization: Bearer`. "
                "Preferred over username and password. Never logged."
            ),
        ),
        th.Property(
            "username",
            th.StringType,
            title="Username (deprecated)",
            description=(
                "Recras username for HTTP Basic auth, used only when `api_key` is not set. "
                "Recras deprecated Basic auth in July 2020."
            ),
        ),
        th.Property(
            "password",
            th.StringType,
            secret=True,
            title="Password (deprecated)",
            description="Secret. Password for `username` (HTTP Basic auth fallback). Never logged.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=DEFAULT_REQUEST_TIMEOUT,
            title="Request timeout",
            description=(
                "Seconds to wait for Recras to connect or send data before a request counts "
                "as failed (and is retried)."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default=default_user_agent,
            title="User agent",
            description="`User-Agent` header sent with every request.",
        ),
    ]


def max_workers_property(description: str) -> th.Property:
    """The bounded concurrency setting both plugins offer."""
    return th.Property(
        "max_workers",
        th.IntegerType(minimum=1, maximum=MAX_WORKERS_LIMIT),
        default=DEFAULT_MAX_WORKERS,
        title="Max workers",
        description=f"{description} Between 1 and {MAX_WORKERS_LIMIT}.",
    )


def request_metrics_property() -> th.Property:
    """The opt-in to one ``http_request_duration`` METRIC line per request, in both plugins."""
    return th.Property(
        LOG_REQUEST_METRICS,
        th.BooleanType,
        default=False,
        title="Log request metrics",
        description=(
            "Log singer-sdk's `http_request_duration` metric for every request sent to Recras "
            "(one `METRIC` line per request, as SDK REST taps do), e.g. for latency "
            "dashboards. Off: `http_request_count` every "
            f"{metrics.DEFAULT_LOG_INTERVAL:.0f} seconds and at the end, and one summary "
            "line per endpoint (requests by status; p50, p95, max and summed duration)."
        ),
    )
