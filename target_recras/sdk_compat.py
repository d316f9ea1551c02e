"""Every private singer-sdk name target-recras relies on, in one place.

singer-sdk routes Singer messages to private methods of :class:`~singer_sdk.Target`
(``_process_record_message`` and friends) and writes STATE through the private
``_write_state_message``; a target that handles messages itself can only override those.
:class:`SDKMessageHooks` does that and nothing else: each override hands the message to a
public method the target defines (``check_schema_message``, ``handle_*``, ``emit_state``),
so the rest of the package never names an SDK internal. The one private name *called* is
the sink's ``_after_process_record``, where the SDK calls it.

:data:`PRIVATE_NAMES` lists them in the project's one format
(:class:`recras_api.plugin.sdk_compat.PrivateName`, with the fingerprint of each in the
singer-sdk release it was checked against). ``tests/sdk_contract/test_sdk_private_names.py``
fails when the installed SDK changes one of them, when it stops routing messages through them,
and when another ``target_recras`` module names a private SDK name, so an SDK upgrade is
reviewed here instead of silently bypassing the target's handling."""

from __future__ import annotations

import abc
from typing import Any

from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target
from typing_extensions import override

from recras_api.plugin.sdk_compat import PrivateName
from recras_api.plugin.termination import stop_signals

#: The source fingerprint also catches a changed body: the record path in
#: ``TargetRecras.handle_record_message`` follows ``_process_record_message`` step by step.
PRIVATE_NAMES: tuple[PrivateName, ...] = (
    PrivateName(
        Target,
        "_process_schema_message",
        "overridden: a malformed SCHEMA refused first",
        "ed6e8449bc8ff234",
    ),
    PrivateName(
        Target, "_process_record_message", "overridden: handle_record_message", "08aaf4096e2d39e7"
    ),
    PrivateName(
        Target, "_process_state_message", "overridden: handle_state_message", "e27158e2b1e7ea6d"
    ),
    PrivateName(
        Target,
        "_process_activate_version_message",
        "overridden: handle_activate_version_message",
        "377950028ca9b3eb",
    ),
    PrivateName(
        Target, "_process_batch_message", "overridden: handle_batch_message", "f26fbe519745daf2"
    ),
    PrivateName(Target, "_write_state_message", "overridden: emit_state", "bf40aa5e36ebef4d"),
    PrivateName(
        Sink,
        "_after_process_record",
        "called: the sink's post-record hook, where the SDK calls it",
        "185b5536ec21f7fb",
    ),
)


class SDKMessageHooks(Target, abc.ABC):
    """Maps the SDK's private message callbacks to public ``handle_*`` methods."""

    @abc.abstractmethod
    def check_schema_message(self, message: dict[str, Any]) -> None:
        """Refuse a malformed SCHEMA before the SDK registers the stream and its sink."""

    @abc.abstractmethod
    def handle_record_message(self, message: dict[str, Any]) -> None:
        """A RECORD message."""

    @abc.abstractmethod
    def handle_state_message(self, message: dict[str, Any]) -> None:
        """A STATE message."""

    @abc.abstractmethod
    def handle_activate_version_message(self, message: dict[str, Any]) -> None:
        """An ACTIVATE_VERSION message."""

    @abc.abstractmethod
    def handle_batch_message(self, message: dict[str, Any]) -> None:
        """A BATCH message."""

    @abc.abstractmethod
    def emit_state(self, state: dict[str, Any]) -> None:
        """The SDK (at its final drain) or the target offers a STATE for stdout."""

    def write_state_to_stdout(self, state: dict[str, Any]) -> None:
        """Print a STATE message the way the SDK does; a stop signal waits for the whole line."""
        with stop_signals.held():
            super()._write_state_message(state)

    @staticmethod
    def after_process_record(sink: Sink, context: dict[str, Any]) -> None:
        """The sink's post-record hook, called after ``process_record`` as the SDK does."""
        sink._after_process_record(context)

    # -- the SDK's private callbacks ------------------------------------------------------

    @override
    def _process_schema_message(self, message_dict: dict) -> None:
        self.check_schema_message(message_dict)
        super()._process_schema_message(message_dict)

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        self.handle_record_message(message_dict)

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        self.handle_state_message(message_dict)

    @override
    def _process_activate_version_message(self, message_dict: dict) -> None:
        self.handle_activate_version_message(message_dict)

    @override
    def _process_batch_message(self, message_dict: dict) -> None:
        self.handle_batch_message(message_dict)

    @override
    def _write_state_message(self, state: dict) -> None:
        self.emit_state(state)
