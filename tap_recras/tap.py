"""TapRecras: settings, streams and the shared HTTP client."""

from __future__ import annotations

import json
import sys
from functools import cached_property
from pathlib import PurePath
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.singerlib.catalog import Catalog
from typing_extensions import override

from recras_api.client import RecrasClient
from recras_api.concurrency import AdaptiveConcurrency
from recras_api.errors import RecrasError
from recras_api.plugin.metrics import LOG_REQUEST_METRICS, HttpRequestMetrics
from recras_api.plugin.sdk_compat import SecretSafeConfigValidation
from recras_api.plugin.settings import (
    connection_properties,
    max_workers_property,
    request_metrics_property,
)
from recras_api.plugin.termination import Stopped, stop_signals
from recras_api.settings import DEFAULT_MAX_WORKERS, DISTRIBUTION, ConnectionSettings, user_agent
from tap_recras.inputs import (
    MAX_ID,
    TapInputError,
    check_no_batch_config,
    check_state,
    with_requested_replication_methods,
    without_partitions,
)
from tap_recras.output import BufferedMsgSpecWriter
from tap_recras.sdk_compat import CompatTap
from tap_recras.streams import BOOKMARKS, CHILD_STREAM_NAMES, STREAM_TYPES

USER_AGENT = user_agent("tap-recras")
#: The settings' defaults (issue 21): two years of invoices take 24 requests of lines.
DEFAULT_START_DATE = "2000-01-01"
DEFAULT_LOOKBACK_DAYS = 30
DEFAULT_WINDOW_DAYS = 31


class TapRecras(SecretSafeConfigValidation, CompatTap):
    """Singer tap for Recras API2: customers, bookings, invoices, payments, reference tables."""

    name = "tap-recras"
    package_name = DISTRIBUTION
    message_writer_class = BufferedMsgSpecWriter
    # BATCH is left out (and batch_config refused): the child stream is synced once per
    # customer, which would write one batch file per customer.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        c for c in Tap.capabilities if c != PluginCapabilities.BATCH
    ]

    config_jsonschema = th.PropertiesList(
        *connection_properties(USER_AGENT),
        th.Property(
            "start_id",
            th.IntegerType(minimum=1, maximum=MAX_ID),
            title="Start id",
            description=(
                "First customer id to extract on a run without state (and on full-table "
                "runs); lower ids are never read. Unset: every customer."
            ),
        ),
        th.Property(
            "start_date",
            th.DateType,
            default=DEFAULT_START_DATE,
            title="Start date",
            description=(
                "First date read on a run without state: factuurregels are read in windows "
                "from it, and facturen (incremental) from invoices dated on or after it."
            ),
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0),
            default=DEFAULT_LOOKBACK_DAYS,
            title="Look-back days",
            description=(
                "How many days before its bookmark an incremental run of facturen and "
                "factuurregels reads again: an invoice's status and payments change after "
                "its date."
            ),
        ),
        th.Property(
            "window_days",
            th.IntegerType(minimum=1),
            default=DEFAULT_WINDOW_DAYS,
            title="Window days",
            description=(
                "Days per request of factuurregels (begin to eind): one request per window."
            ),
        ),
        max_workers_property(
            "Detail requests the tap keeps in flight at once: customers (for contact "
            "persons), bookings (for their lines, when the list lacks them) and invoices "
            "(for their payments)."
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=True,
            title="Emit ACTIVATE_VERSION messages",
            description=(
                "On FULL_TABLE runs, send `ACTIVATE_VERSION` after the last record of each "
                "stream, once every customer listed was sent, so a target can drop customers "
                "that no longer exist (and nothing when a run fails or is stopped)."
            ),
        ),
        request_metrics_property(),
    ).to_dict()

    def __init__(
        self,
        *,
        catalog: PurePath | str | dict | Catalog | None = None,
        state: PurePath | str | dict | None = None,
        **kwargs: Any,
    ) -> None:
        catalog = _read_json(catalog)
        if isinstance(catalog, dict):
            catalog = with_requested_replication_methods(catalog)
        state = _read_json(state)
        if state is not None:
            # Before the SDK reads it: it trusts every entry (and a list is not even read).
            checked = check_state(state, BOOKMARKS)
            for child in CHILD_STREAM_NAMES:
                checked = without_partitions(checked, child)
            state = dict(checked)
        super().__init__(catalog=catalog, state=state, **kwargs)
        check_no_batch_config(self.config)

    @override
    def discover_streams(self) -> list[Stream]:
        """Every stream of :data:`~tap_recras.streams.STREAM_TYPES`."""
        return [stream_type(self) for stream_type in STREAM_TYPES]

    @override
    def on_synced(self) -> None:
        """Log the run's HTTP totals once, after every selected stream."""
        self.http_metrics.finish()
        if retries := self.client.retries:
            self.logger.info("Requests to Recras were retried %d time(s) in this run", retries)

    @property
    def max_workers(self) -> int:
        """Concurrent detail requests."""
        return int(self.config.get("max_workers") or DEFAULT_MAX_WORKERS)

    @override
    def on_termination(self, signum: int) -> None:
        """On SIGTERM or SIGINT: stop where it is safe (:mod:`recras_api.plugin.termination`).

        :meth:`sync_all` then writes the buffered records and the last safe STATE, and the
        console script exits with 128 + n (143 for SIGTERM), so that an orchestrator does
        not record a success; the SDK's own handler exits 0.
        """
        stop_signals.received(signum)

    @override
    def on_stopped(self, stop: Stopped) -> None:
        """A stop signal ended the sync: write the last safe STATE (after the buffered records).

        The STATE is safe to resume from: a run's highest id becomes the bookmark only when
        the run completes, so resuming repeats this run's customers and skips none.
        """
        self.state_writer.write_state(self.state)
        self.logger.warning(
            "Stopped by %s; wrote the last safe state. Rerun to resume from it.",
            stop.signal_name,
        )

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        """Run the CLI; an error the tap knows ends it with one line saying why, and exit 1.

        Recras's answers (an id no customer can have, 401, retries spent, a full-table run
        it could not complete) and unusable inputs are explained by their message; the
        SDK's handler would print a Python traceback after it. Anything else keeps it.
        """
        try:
            super().invoke(**kwargs)
        except (RecrasError, TapInputError) as exc:
            cls.logger.critical("%s: %s", type(exc).__name__, exc)
            sys.exit(1)

    @cached_property
    def client(self) -> RecrasClient:
        """One HTTP client (and connection pool) for the whole run, created on first use."""
        settings = ConnectionSettings.from_config(self.config, USER_AGENT)
        # One connection for the list plus one per detail worker.
        return RecrasClient(
            settings,
            self.logger,
            pool_size=self.max_workers + 1,
            observers=[self.http_metrics],
            # Detail requests back off when Recras answers 429 or 503 (recras_api.concurrency).
            concurrency=AdaptiveConcurrency(self.max_workers, self.logger),
        )

    @cached_property
    def http_metrics(self) -> HttpRequestMetrics:
        """The SDK's HTTP metrics (``http_request_count``; per request if the setting says)."""
        per_request = bool(self.config.get(LOG_REQUEST_METRICS))
        return HttpRequestMetrics(self.logger, per_request=per_request)


def _read_json(source: Any) -> Any:
    """The parsed file for a path, anything else as it is."""
    if isinstance(source, PurePath | str):
        with open(source, encoding="utf-8") as file:
            return json.load(file)
    return source
