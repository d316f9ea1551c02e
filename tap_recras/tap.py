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
from tap_recras.streams import ContactpersonenStream, KlantenStream

USER_AGENT = user_agent("tap-recras")


class TapRecras(SecretSafeConfigValidation, CompatTap):
    """Singer tap for Recras API2 customers (``klanten``) and their contact persons."""

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
        max_workers_property(
            "Customer detail requests (for contact persons) the tap keeps in flight at once."
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
            state = without_partitions(
                check_state(state, KlantenStream.name), ContactpersonenStream.name
            )
        super().__init__(catalog=catalog, state=state, **kwargs)
        check_no_batch_config(self.config)

    @override
    def discover_streams(self) -> list[Stream]:
        """The ``klanten`` stream and its child ``contactpersonen``."""
        return [KlantenStream(self), ContactpersonenStream(self)]

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
