"""The command line both connectors share: ``spec``, ``check``, ``discover``, ``read``, ``write``.

:func:`run` parses the arguments Airbyte passes (``read --config c.json --catalog
cat.json --state s.json``), sends logging to LOG messages, runs the command and turns an
error into one TRACE ERROR on stdout and exit status 1. ``check`` never fails that way: it
answers ``CONNECTION_STATUS`` FAILED with the reason and exits 0, as Airbyte expects.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from typing_extensions import override

from airbyte_recras.failures import (
    TRANSIENT_ERROR,
    ConnectorInputError,
    describe,
    failure_type,
    stack_trace,
)
from airbyte_recras.output import AirbyteOutput, log_to
from recras_api.plugin.termination import Stopped, exit_by_signal, stop_signals
from recras_api.redact import register_credentials

#: A command: (parsed arguments, output) -> None.
Command = Callable[[argparse.Namespace, AirbyteOutput], None]

#: Which files each command takes (``True``: required).
COMMAND_FILES: dict[str, dict[str, bool]] = {
    "spec": {},
    "check": {"config": True},
    "discover": {"config": True},
    "read": {"config": True, "catalog": True, "state": False},
    "write": {"config": True, "catalog": True},
}


class _Parser(argparse.ArgumentParser):
    """Argument errors become a TRACE config_error, not argparse's usage text on stderr."""

    @override
    def error(self, message: str) -> NoReturn:
        raise ConnectorInputError(f"{self.prog}: {message}")


def parser(prog: str, commands: Sequence[str]) -> argparse.ArgumentParser:
    """The argument parser for a connector offering ``commands``."""
    top = _Parser(prog=prog, description=f"{prog}: an Airbyte connector for Recras API2.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in commands:
        command = sub.add_parser(name)
        for option, required in COMMAND_FILES[name].items():
            command.add_argument(f"--{option}", required=required, type=Path)
    return top


def read_json(path: Path | None, what: str) -> Any:
    """The parsed JSON file ``path`` (``None`` stays ``None``); a clear error otherwise."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConnectorInputError(f"Cannot read the {what} file {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConnectorInputError(f"The {what} file {path} is not valid JSON: {exc}") from None


def read_config(path: Path) -> dict[str, Any]:
    """The config object; its credentials are registered for scrubbing before anything else."""
    config = read_json(path, "config")
    if not isinstance(config, dict):
        raise ConnectorInputError(f"The config file {path} must hold a JSON object")
    protect(config)
    return config


def protect(config: Mapping[str, Any]) -> None:
    """Register the config's secrets, so no message can show them."""
    texts = {k: v if isinstance(v, str) else None for k, v in config.items()}
    register_credentials(
        api_key=texts.get("api_key"), username=texts.get("username"), password=texts.get("password")
    )


def run(prog: str, commands: Mapping[str, Command], argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (0, or 1 after a TRACE ERROR).

    A stop signal (SIGTERM, SIGINT) ends the process by that signal, after the command's
    last safe messages and a TRACE ERROR saying so: PyAirbyte takes death by SIGTERM for the
    cancel it asked for, but any other exit status for a failure.
    """
    output = AirbyteOutput()
    log_to(output)
    stop_signals.end = exit_by_signal
    stop_signals.install()
    try:
        args = parser(prog, list(commands)).parse_args(argv)
        commands[args.command](args, output)
    except Stopped as stop:
        output.trace_error(
            f"Stopped by {stop.signal_name}; every STATE emitted before is safe to resume from.",
            failure_type=TRANSIENT_ERROR,
            internal_message=f"{prog} received {stop.signal_name}",
            stack_trace=None,
        )
        stop_signals.finish(stop)
    except Exception as exc:  # every failure is reported as the protocol says
        kind = failure_type(exc)
        output.trace_error(
            describe(exc),
            failure_type=kind,
            internal_message=f"{type(exc).__name__}: {describe(exc)}",
            stack_trace=stack_trace(exc) if kind == "system_error" else None,
        )
        return 1
    return 0


def main_for(prog: str, commands: Mapping[str, Command]) -> NoReturn:
    """Console-script entry point."""
    stop_signals.ignore_once_exiting()
    status = run(prog, commands)
    stop_signals.run_complete()
    sys.exit(status)
