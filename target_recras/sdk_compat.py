"""Every private singer-sdk name target-recras relies on, in one place.

singer-sdk routes Singer messages to private methods of :class:`~singer_sdk.Target`
(``_process_record_message`` and friends) and writes STATE through the private
``_write_state_message``; a target that handles messages itself can only override those.
:class:`SDKMessageHooks` does that and nothing else: each override hands the message to a
public method the target defines (``check_schema_message``, ``handle_*``, ``emit_state``),
so the rest of the package never names an SDK internal. The one private *read* left is the sink's
``_after_process_record``, called where the SDK calls it.

Checked against singer-sdk :data:`CHECKED_SDK_VERSION`. ``tests/test_run_sdk_compat.py``
asserts that each name in :data:`PRIVATE_METHODS` still exists on the installed SDK with the
parameters listed there, so an SDK upgrade that renames or reshapes one fails that test
instead of silently bypassing the target's handling.
"""

from __future__ import annotations

import abc
from typing import Any

from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

#: The singer-sdk release line the names below were checked against.
CHECKED_SDK_VERSION = "0.54"

#: (class, private method, its parameter names) this module overrides or calls.
PRIVATE_METHODS: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (Target, "_process_schema_message", ("self", "message_dict")),
    (Target, "_process_record_message", ("self", "message_dict")),
    (Target, "_process_state_message", ("self", "message_dict")),
    (Target, "_process_activate_version_message", ("self", "message_dict")),
    (Target, "_process_batch_message", ("self", "message_dict")),
    (Target, "_write_state_message", ("self", "state")),
    (Sink, "_after_process_record", ("self", "context")),
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
        """Print a STATE message the way the SDK does."""
        super()._write_state_message(state)

    @staticmethod
    def after_process_record(sink: Sink, context: dict[str, Any]) -> None:
        """The sink's post-record hook, called after ``process_record`` as the SDK does."""
        sink._after_process_record(context)

    # -- the SDK's private callbacks ------------------------------------------------------

    def _process_schema_message(self, message_dict: dict) -> None:
        self.check_schema_message(message_dict)
        super()._process_schema_message(message_dict)

    def _process_record_message(self, message_dict: dict) -> None:
        self.handle_record_message(message_dict)

    def _process_state_message(self, message_dict: dict) -> None:
        self.handle_state_message(message_dict)

    def _process_activate_version_message(self, message_dict: dict) -> None:
        self.handle_activate_version_message(message_dict)

    def _process_batch_message(self, message_dict: dict) -> None:
        self.handle_batch_message(message_dict)

    def _write_state_message(self, state: dict) -> None:
        self.emit_state(state)
