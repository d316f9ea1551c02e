"""The sandbox's options, declared once: :class:`SandboxOptions`.

Everything else derives from it: the CLI flags (:func:`add_flags`, :meth:`SandboxOptions.
from_flags`), the command line ``SandboxProcess`` starts (:meth:`SandboxOptions.to_argv`), the
keywords ``SandboxProcess`` accepts, and the server's configuration (the server, store and
fault injector read a :class:`SandboxOptions`). A new option is one field here.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from typing import Any

from recras_sandbox.readings import (
    BOOKING_ID_FILTER_READINGS,
    BOOKING_LINES_READINGS,
    DATUM_NA_READINGS,
    ID_MIN_READINGS,
    LINKED_PERSON_FIELDS_READINGS,
    MERGE_READINGS,
    MONEY_READINGS,
    PUT_EXTRA_FIELDS_READINGS,
    REGELS_EIND_READINGS,
)

#: Converts a flag's text to the option's value.
Parse = Callable[[str], Any]


def _option(
    default: Any,
    doc: str,
    *,
    parse: Parse | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A field of :class:`SandboxOptions`: its default, its one-line doc (the flag's --help),
    how its flag's text is read (the default's type unless given) and its allowed values."""
    rules = {
        "doc": doc,
        "parse": parse or type(default),
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
    }
    return dataclasses.field(default=default, metadata=rules)


def _reading(readings: tuple[str, ...], doc: str) -> Any:
    """An option choosing one of ``readings``; the first is the default."""
    return _option(readings[0], doc, choices=readings)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SandboxOptions:
    """How one sandbox is seeded, authenticates, pages, misbehaves and reads the open points.

    Values are checked on construction (ValueError naming the option); an unknown keyword is
    a TypeError naming it.
    """

    customers: int = _option(200, "customers to seed", minimum=0)
    bookings: int = _option(
        300, "bookings to seed (with lines, invoices, payments) of the customers", minimum=0
    )
    seed: int = _option(1, "random seed of the generated data")
    api_key: str = _option("sandbox-key", "Bearer key with full access")
    readonly_key: str = _option("sandbox-readonly-key", "Bearer key without editContact")
    username: str = _option("sandbox", "HTTP Basic user name")
    password: str = _option("sandbox-password", "HTTP Basic password")
    page_size: int = _option(0, "page the list; 0 = no paging", minimum=0)
    shuffle: bool = _option(False, "list customers in a seeded random order")
    fault_rate: float = _option(0.0, "fraction answered 429/503/dropped", minimum=0, maximum=1)
    fault_seed: int | None = _option(None, "seed of the fault sequence", parse=int)
    retry_after: int = _option(1, "Retry-After seconds of a 429", minimum=0)
    latency_ms: float = _option(0.0, "added latency per /api2 request", minimum=0)
    invalid_json_rate: float = _option(0.0, "fraction of 200s with bad JSON", minimum=0, maximum=1)
    max_concurrent: int = _option(
        0, "test mode: 429 above N /api2 requests in flight per key; 0 = no limit", minimum=0
    )
    limit_retry_after: int = _option(
        1, "Retry-After seconds of a 429 from --max-concurrent", minimum=0
    )
    # (_option returns a dataclasses.field; ruff only knows that of fields typed immutable.)
    db: str | os.PathLike[str] | None = _option(  # noqa: RUF009
        None, "SQLite file; data survives a restart (default: memory only)", parse=str
    )
    # Readings of the points the docs leave open (recras_sandbox.readings, docs/sandbox.md).
    merge: str = _reading(
        MERGE_READINGS,
        "POST merges on equal name + main e-mail (name-email) or always creates (never)",
    )
    put_extra_fields: str = _reading(
        PUT_EXTRA_FIELDS_READINGS, "a PUT's extra_fields merge by name or replace the list"
    )
    id_min: str = _reading(ID_MIN_READINGS, "id>=N keeps ids >= N (inclusive) or > N (exclusive)")
    linked_person_fields: str = _reading(
        LINKED_PERSON_FIELDS_READINGS,
        "fields sent with a linked contact person id: apply or ignore",
    )
    list_persons: bool = _option(False, "list items include contactpersonen")
    booking_id_filter: str = _reading(
        BOOKING_ID_FILTER_READINGS, "boekingen accepts id> (accepted) or answers 406 (refused)"
    )
    booking_lines: str = _reading(
        BOOKING_LINES_READINGS, "booking list items carry boekingsregels (list) or only the detail"
    )
    datum_na: str = _reading(
        DATUM_NA_READINGS, "facturen datumNa=D keeps datum > D (exclusive) or >= D (inclusive)"
    )
    money: str = _reading(MONEY_READINGS, "amounts as JSON numbers or as decimal strings")
    regels_eind: str = _reading(
        REGELS_EIND_READINGS, "factuurregels eind is inclusive or exclusive"
    )

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check_option(field.name, getattr(self, field.name))

    @classmethod
    def from_flags(cls, flags: argparse.Namespace) -> SandboxOptions:
        """The options parsed by a parser :func:`add_flags` filled (other flags ignored)."""
        return cls(**{field.name: getattr(flags, field.name) for field in dataclasses.fields(cls)})

    def to_argv(self) -> list[str]:
        """The CLI flags that give these options (options left at their default are left out)."""
        argv: list[str] = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            flag = _flag(field.name)
            argv += [flag] if isinstance(value, bool) else [flag, str(value)]
        return argv


def check_option(name: str, value: object) -> None:
    """Raise ValueError when ``value`` is outside what option ``name`` allows."""
    field = _FIELDS[name]
    if value is None:
        if field.default is not None:
            raise ValueError(f"{name} must be given a value, not None")
        return
    rules = field.metadata
    choices = rules["choices"]
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    minimum, maximum = rules["minimum"], rules["maximum"]
    if minimum is None or not isinstance(value, int | float):
        return
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name} must be {bounds}, got {value}")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Add one flag per option (``--page-size`` for ``page_size``), checked as the option is."""
    for field in dataclasses.fields(SandboxOptions):
        rules = field.metadata
        if isinstance(field.default, bool):
            parser.add_argument(_flag(field.name), action="store_true", help=rules["doc"])
            continue
        parser.add_argument(
            _flag(field.name),
            type=_flag_reader(field.name, rules["parse"]),
            choices=rules["choices"],
            default=field.default,
            help=rules["doc"]
            if field.default is None
            else f"{rules['doc']} (default {field.default})",
        )


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _flag_reader(name: str, parse: Parse) -> Parse:
    """Read a flag's text, reporting a value out of range as argparse reports a bad type."""

    def read(text: str) -> Any:
        value = parse(text)
        try:
            check_option(name, value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
        return value

    # argparse names the reader in its "invalid <name> value" message: say int, float, str.
    read.__name__ = parse.__name__
    return read


_FIELDS = {field.name: field for field in dataclasses.fields(SandboxOptions)}
