"""Local validation of records against the documented ``POST /api2/klanten`` body.

Two validators check the same schema (``KLANT_PAYLOAD_SCHEMA``) as JSON Schema draft 7:

* jsonschema-rs, the fast path, decides *whether* a record is valid (many times faster than
  jsonschema: ``benchmarks/validator_benchmark.py``, figures in ``benchmarks/README.md``);
* jsonschema, the reference implementation, explains *why* an invalid record is invalid
  (message and field path). It only runs for records the fast path refused, and decides
  for a record jsonschema-rs cannot read: a string with a lone surrogate (no Unicode text),
  a date the SDK parsed from a field its stream's schema calls a date.

Both take an integral Decimal (the reader's ``1.0``) for an integer, as ``1.0`` is, compare the
reader's Decimals and integers of any size exactly, and leave ``format`` unchecked (jsonschema's
default). A schema that is not valid draft 7 stops the target when the validator is built
(jsonschema-rs checks it). tests/target/validation/test_fast_validator.py proves that both
accept and refuse exactly the same records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import jsonschema
import jsonschema_rs

from recras_api.schemas import KLANT_CREATE_REQUIRED, KLANT_PAYLOAD_SCHEMA
from target_recras.input.exact_numbers import is_integral

#: Longest reason kept from a validator message (messages quote the offending value).
MAX_REASON_CHARS = 300


def _is_integer(checker: Any, instance: Any) -> bool:
    draft7 = jsonschema.Draft7Validator.TYPE_CHECKER.is_type(instance, "integer")
    return draft7 or (isinstance(instance, Decimal) and is_integral(instance))


#: jsonschema's draft 7, with an integral Decimal (the reader's ``1.0``) an integer, as
#: ``1.0`` is: what the fast path accepts.
ReferenceValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

#: Whether a record is valid, nothing more.
Checker = Callable[[Any], bool]


def fast_checker(reference: jsonschema.protocols.Validator) -> Checker:
    """jsonschema-rs's yes/no on ``reference``'s schema; ``reference``'s for what it cannot read.

    jsonschema-rs raises ValueError for a value it cannot read (a date, a string with a lone
    surrogate where its text is needed); jsonschema gives such a record its verdict.
    """
    is_valid = jsonschema_rs.Draft7Validator(reference.schema, validate_formats=False).is_valid

    def check(record: Any) -> bool:
        try:
            return is_valid(record)
        except ValueError:
            return reference.is_valid(record)

    return check


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be sent: a human-readable reason and the field it concerns."""

    reason: str
    field_path: str | None


def format_path(parts: Iterable[str | int]) -> str | None:
    """``["contactpersonen", 0, "geslacht"]`` -> ``contactpersonen[0].geslacht``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def create_problem(record: dict[str, Any]) -> Problem | None:
    """Why a valid record cannot create a customer: POST needs fields a PUT may leave out."""
    for name in KLANT_CREATE_REQUIRED:
        if name not in record:
            return Problem(
                f"'{name}' is a required property for a new customer (POST /api2/klanten needs "
                "at least one contact person); only an update -- a record with id, or with a "
                "source key already written to Recras -- may leave it out",
                name,
            )
    return None


def _impossible_date(extra_fields: Iterable[dict[str, Any]]) -> Problem | None:
    """A ``date`` extra field of the right shape that is no date (2024-13-45, 2023-02-29)."""
    for index, field in enumerate(extra_fields):
        if field["type"] == "date":
            try:
                datetime.fromisoformat(field["value"])
            except ValueError as exc:
                reason = f"{_shorten(repr(field['value']))} is not a date: {exc}"
                return Problem(reason, f"extra_fields[{index}].value")
    return None


class RecordValidator:
    """Checks records against the payload schema plus the rules draft 7 cannot express."""

    def __init__(self, schema: dict[str, Any] = KLANT_PAYLOAD_SCHEMA) -> None:
        self._reference = ReferenceValidator(schema)
        self.is_schema_valid = fast_checker(self._reference)

    def check(self, record: dict[str, Any]) -> Problem | None:
        """None when the record can be sent; else the first problem found.

        Beyond the schema: exactly one main contact, and ``date`` extra fields that are
        calendar dates (the schema's pattern only checks the ISO 8601 shape).
        """
        if not self.is_schema_valid(record):
            return self.explain(record)
        persons = record.get("contactpersonen")
        mains = 1 if persons is None else sum(1 for person in persons if person["hoofdcontact"])
        if mains != 1:
            return Problem(
                "exactly one contact person must have hoofdcontact true (Recras allows one "
                f"main contact per customer), found {mains}",
                "contactpersonen",
            )
        return _impossible_date(record.get("extra_fields") or ())

    def explain(self, record: Any) -> Problem:
        """jsonschema's most relevant error for a record the fast path refused."""
        error = jsonschema.exceptions.best_match(self._reference.iter_errors(record))
        if error is None:  # pragma: no cover - the equivalence tests rule this out
            return Problem("the record does not match the Recras customer schema", None)
        message = error.message
        if isinstance(error.instance, Decimal):
            # The number as it was written (1.5), not as Python shows it (Decimal('1.5')).
            message = message.replace(repr(error.instance), str(error.instance))
        meaning = error.schema.get("description") if isinstance(error.schema, dict) else None
        if error.validator == "pattern" and meaning:
            # The regular expression means little to a user; what it stands for does.
            message = f"{error.instance!r} is not {meaning}"
        return Problem(_shorten(message), format_path(error.absolute_path))
