"""Compile a JSON Schema (a draft 7 subset) into one Python function that returns a bool.

Hand-written because no library reaches the target's dry-run goal (at most 4 times the cost
of ``json.loads`` per line): validators that collect error messages (jsonschema) or raise an
exception for every failing ``if``/``not`` branch (fastjsonschema: the customer schema has an
``if`` per extra-field type and a ``not`` per contact person) spend most of their time on
bookkeeping a valid record never needs. This compiler generates straight-line code that only
answers "valid or not". ``benchmarks/validator_benchmark.py`` measures all three, per record
and in the dry run; the numbers are in ``benchmarks/README.md``.

Each keyword follows jsonschema's draft 7 implementation exactly (``type`` with draft 7's
"1.0 is an integer" and "true is not an integer", keywords that only apply to their own
type, ``enum`` equality that keeps ``true`` and ``1`` apart, ``pattern`` as ``re.search``).
Numbers with a fraction or exponent arrive as :class:`~decimal.Decimal` (the reader keeps
them exact): an integral one is an integer, as ``1.0`` is; :func:`is_integral` decides it for
this compiler and for the reference validator (:mod:`target_recras.validation`) alike.
A keyword outside the supported set raises :class:`UnsupportedSchemaError` when the schema is
compiled, naming the keyword and where it is, so a schema change can never be validated
half-way nor by another validator; tests/target/validation/test_fast_validator.py compiles
the target's schema and checks equivalence with jsonschema on a corpus and on generated records.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

#: Keywords that do not affect validity.
_ANNOTATIONS = frozenset({"$schema", "$comment", "title", "description", "examples", "default"})

_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "null": "{v} is None",
    "boolean": "isinstance({v}, bool)",
    "number": "(isinstance({v}, _Number) and not isinstance({v}, bool))",
    "integer": (
        "(isinstance({v}, int) and not isinstance({v}, bool)"
        " or isinstance({v}, float) and {v}.is_integer()"
        " or isinstance({v}, _Decimal) and _is_integral({v}))"
    ),
}
_NUMBER = _TYPE_TESTS["number"]
#: Keywords that only constrain values of their own type (as in jsonschema).
_BOUND_TESTS = {
    "minimum": "(not " + _NUMBER + " or {v} >= {value!r})",
    "minLength": "(not isinstance({v}, str) or len({v}) >= {value!r})",
    "minItems": "(not isinstance({v}, list) or len({v}) >= {value!r})",
    "pattern": "(not isinstance({v}, str) or {value}.search({v}) is not None)",
}


def is_integral(number: Decimal) -> bool:
    """Is a (finite) Decimal a whole number? Exact at any exponent (``number % 1`` is not)."""
    return number == number.to_integral_value()


def exact_number(number: Decimal) -> int | Decimal:
    """A Decimal's value in one form: an integral one as ``int``, else without trailing zeros.

    ``Decimal.normalize`` would round to the context's 28 digits; this never rounds.
    """
    if is_integral(number):
        return int(number)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a finite number: JSON has no NaN nor Infinity
    while digits[-1] == 0:  # a fraction has a digit other than 0
        digits, exponent = digits[:-1], exponent + 1
    return Decimal((sign, digits, exponent))


class UnsupportedSchemaError(ValueError):
    """The schema uses a keyword (or value) this compiler does not implement."""


def _unsupported(what: str, at: str) -> UnsupportedSchemaError:
    return UnsupportedSchemaError(
        f"the schema uses {what} at {at or 'its top level'}, which target_recras/fastcheck.py "
        "does not compile: implement it there as jsonschema does "
        "(tests/target/validation/test_fast_validator.py checks that both agree)"
    )


def _below(at: str, part: str) -> str:
    return f"{at}.{part}" if at else part


class _Compiler:
    def __init__(self) -> None:
        self.functions: list[str] = []
        self.constants: dict[str, Any] = {
            "_Number": numbers.Number,
            "_Decimal": Decimal,
            "_is_integral": is_integral,
            "_MISSING": object(),
        }

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    # -- keywords that fit in one expression ------------------------------------------------

    def _enum(self, values: list[Any], v: str, at: str) -> str:
        if not all(value is None or isinstance(value, str) for value in values):
            raise _unsupported(f"enum/const values other than strings and null {values!r}", at)
        strings = self.constant(frozenset(value for value in values if value is not None))
        test = f"(isinstance({v}, str) and {v} in {strings})"
        return f"({v} is None or {test})" if None in values else test

    def _inline(self, keyword: str, value: Any, v: str, at: str) -> str | None:
        """The test for a keyword that fits in an expression; None for the others."""
        if keyword == "type":
            kinds = value if isinstance(value, list) else [value]
            if any(kind not in _TYPE_TESTS for kind in kinds):
                raise _unsupported(f"type {value!r}", at)
            return "(" + " or ".join(_TYPE_TESTS[kind].format(v=v) for kind in kinds) + ")"
        if keyword in {"enum", "const"}:
            return self._enum(list(value) if keyword == "enum" else [value], v, at)
        if keyword == "pattern":
            value = self.constant(re.compile(value))
        template = _BOUND_TESTS.get(keyword)
        return None if template is None else template.format(v=v, value=value)

    def expression(self, schema: Any, v: str, at: str) -> str:
        """A boolean expression testing ``v`` against ``schema`` (found at ``at``)."""
        if schema is True or schema == {}:
            return "True"
        if schema is False:
            return "False"
        if not isinstance(schema, dict):
            raise _unsupported(f"{schema!r} where an object or a boolean belongs", at)
        tests, rest = [], {}
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS:
                continue
            test = self._inline(keyword, value, v, at)
            if test is None:
                rest[keyword] = value
            else:
                tests.append(test)
        if rest:
            tests.append(f"{self.function(rest, at)}({v})")
        return " and ".join(tests) or "True"

    def _each(self, schemas: list[Any], at: str, keyword: str = "allOf") -> list[str]:
        """The expressions testing ``x`` against each of an ``allOf``/``anyOf`` list."""
        return [
            self.expression(sub, "x", _below(at, f"{keyword}[{index}]"))
            for index, sub in enumerate(schemas)
        ]

    # -- keywords that need statements -------------------------------------------------------

    def function(self, schema: dict[str, Any], at: str) -> str:
        """Compile the structural keywords of ``schema`` into a function; return its name."""
        name = f"_f{len(self.functions)}"
        self.functions.append("")  # reserve the slot: nested functions compile first
        body: list[str] = []
        for keyword, value in schema.items():
            if keyword == "required":
                present = " and ".join(f"{key!r} in x" for key in value) or "True"
                body.append(f"if isinstance(x, dict) and not ({present}): return False")
            elif keyword == "properties":
                body.append("if isinstance(x, dict):")
                for key, subschema in value.items():
                    body.append(f"    v = x.get({key!r}, _MISSING)")
                    test = self.expression(subschema, "v", _below(at, f"properties.{key}"))
                    body.append(f"    if v is not _MISSING and not ({test}): return False")
            elif keyword == "items":
                if not isinstance(value, dict | bool):
                    raise _unsupported("'items' as a list (tuple validation)", at)
                body.append("if isinstance(x, list):")
                body.append("    for v in x:")
                test = self.expression(value, "v", _below(at, "items"))
                body.append(f"        if not ({test}): return False")
            elif keyword == "allOf":
                body.extend(f"if not ({test}): return False" for test in self._each(value, at))
            elif keyword == "anyOf":
                anyof = " or ".join(f"({test})" for test in self._each(value, at, "anyOf"))
                body.append(f"if not ({anyof}): return False")
            elif keyword == "not":
                body.append(f"if {self.expression(value, 'x', _below(at, 'not'))}: return False")
            elif keyword == "if":
                then = self.expression(schema.get("then", True), "x", _below(at, "then"))
                otherwise = self.expression(schema.get("else", True), "x", _below(at, "else"))
                body.append(f"if {self.expression(value, 'x', _below(at, 'if'))}:")
                body.append(f"    if not ({then}): return False")
                body.append(f"elif not ({otherwise}): return False")
            elif keyword in {"then", "else"}:
                continue  # without "if" they have no effect; with it, handled above
            else:
                raise _unsupported(f"keyword {keyword!r}", at)
        lines = [f"def {name}(x):", *(f"    {line}" for line in body), "    return True"]
        self.functions[int(name[2:])] = "\n".join(lines)
        return name


def compile_checker(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A function ``check(instance) -> bool`` equivalent to jsonschema's ``is_valid``."""
    compiler = _Compiler()
    top = compiler.expression(schema, "x", "")
    source = "\n\n".join([*compiler.functions, f"def check(x):\n    return bool({top})"])
    namespace = dict(compiler.constants)
    exec(compile(source, "<compiled klant schema>", "exec"), namespace)  # noqa: S102
    check: Callable[[Any], bool] = namespace["check"]
    return check
