"""Local validation of records against the documented ``POST /api2/klanten`` body.

Two validators check the same schema (``KLANT_PAYLOAD_SCHEMA``):

* the fast path, fastjsonschema's compiled code, decides *whether* a record is valid;
* jsonschema, the reference implementation, explains *why* an invalid record is invalid
  (message and field path). It only runs for records the fast path refused.

tests/test_target_validation.py proves that both accept and refuse exactly the same records.

fastjsonschema builds an error message for every failing branch it tries, including the
branches of ``if``/``not``/``allOf`` that fail on perfectly valid records, and those messages
call ``str.format(**locals())`` inside a very large function: ~140 µs per customer record.
Only the yes/no answer is needed from it, so :func:`compile_fast_validator` replaces each of
those ``raise`` statements by raising a bare exception class (~10x faster), and falls back to
the unchanged compiled code if fastjsonschema ever generates code this rewrite does not
recognise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import fastjsonschema
import jsonschema
from fastjsonschema import JsonSchemaValueException

from recras_api.schemas import KLANT_PAYLOAD_SCHEMA

#: Longest reason kept from a validator message (messages quote the offending value).
MAX_REASON_CHARS = 300

_RAISE = "raise JsonSchemaValueException("


@dataclass(frozen=True)
class Problem:
    """Why a record cannot be sent: a human-readable reason and the field it concerns."""

    reason: str
    field_path: str | None


class _Invalid(JsonSchemaValueException):
    """Raised by the rewritten fast validator; carries no message (jsonschema explains)."""

    def __init__(self) -> None:
        Exception.__init__(self)


def compile_fast_validator(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """fastjsonschema's validator for ``schema``, rewritten to raise without a message."""
    code = fastjsonschema.compile_to_code(schema)
    lines = []
    for line in code.splitlines():
        body = line.lstrip()
        indent = line[: len(line) - len(body)]
        lines.append(indent + "raise _Invalid" if body.startswith(_RAISE) else line)
    rewritten = "\n".join(lines)
    if _RAISE in rewritten or "locals()" in rewritten:
        # A raise spread over several lines: keep fastjsonschema's own code.
        return fastjsonschema.compile(schema)
    namespace: dict[str, Any] = {"_Invalid": _Invalid}
    exec(compile(rewritten, "<fast klant validator>", "exec"), namespace)  # noqa: S102
    validate: Callable[[Any], Any] = namespace["validate"]
    return validate


def format_path(parts: Iterable[str | int]) -> str | None:
    """``["contactpersonen", 0, "geslacht"]`` -> ``contactpersonen[0].geslacht``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


class RecordValidator:
    """Checks records against the payload schema plus the rules draft 7 cannot express."""

    def __init__(self, schema: dict[str, Any] = KLANT_PAYLOAD_SCHEMA) -> None:
        self._fast = compile_fast_validator(schema)
        self._reference = jsonschema.Draft7Validator(schema)

    def is_schema_valid(self, record: Any) -> bool:
        """The fast path's verdict on the schema alone."""
        try:
            self._fast(record)
        except JsonSchemaValueException:
            return False
        return True

    def check(self, record: dict[str, Any]) -> Problem | None:
        """None when the record can be sent; else the first problem found."""
        if not self.is_schema_valid(record):
            return self.explain(record)
        mains = sum(1 for person in record["contactpersonen"] if person["hoofdcontact"])
        if mains != 1:
            return Problem(
                "exactly one contact person must have hoofdcontact true (Recras allows one "
                f"main contact per customer), found {mains}",
                "contactpersonen",
            )
        return None

    def explain(self, record: Any) -> Problem:
        """jsonschema's most relevant error for a record the fast path refused."""
        error = jsonschema.exceptions.best_match(self._reference.iter_errors(record))
        if error is None:  # pragma: no cover - the equivalence tests rule this out
            return Problem("the record does not match the Recras customer schema", None)
        return Problem(_shorten(error.message), format_path(error.absolute_path))
