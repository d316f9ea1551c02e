"""The fast path (jsonschema-rs) accepts and refuses exactly what jsonschema does (the reference).

Property-based: hypothesis generates records close to the Recras shape, with the values that
trip validators up (true vs 1, 1.0 vs 1, "NL-NH\\n", nulls, wrong containers) and every kind
of value the target can hand its validator: integers of any size, the reader's exact
Decimals (``5.0``, ``1E+400``, 21 significant digits), the hostile corpus's strings, Unicode
digits in dates, lone surrogates and the dates the SDK parses from a stream's date fields
(values jsonschema-rs cannot read). Generated records also go through the reader as JSON
text. Plus a corpus of hand-written edge cases with their expected verdict, so the test
fails if *both* validators drift the same wrong way.
"""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from typing import Any

import jsonschema
import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.paths import ROOT

from recras_api.schemas import KLANT_PAYLOAD_SCHEMA
from target_recras.input.reader import decode_line
from target_recras.input.validation import RecordValidator, ReferenceValidator, format_path

REFERENCE = jsonschema.Draft7Validator(KLANT_PAYLOAD_SCHEMA)
#: The target's reference: jsonschema's draft 7 with an integral Decimal an integer.
DECIMAL_REFERENCE = ReferenceValidator(KLANT_PAYLOAD_SCHEMA)
FAST = RecordValidator().is_schema_valid
CORPUS: dict[str, Any] = json.loads(
    (ROOT / "tests" / "hostile_input" / "hostile_corpus.json").read_text(encoding="utf-8")
)

TRICKY_STRINGS = [
    "man",
    "vrouw",
    "onbekend",
    "Man",
    "",
    "NL-NH",
    "NL-NH\n",
    "nl-nh",
    "NL-ABCD",
    "2020-01-01",
    "2020-01-01\n",
    "2014-01-01T15:00:00+01:00",
    "01-01-2020",
    "text",
    "number",
    "date",
    "singlechoice",
    "multiplechoice",
    "Zoë",
    "\u0662\u0660\u0662\u0660-\u0660\u0661-\u0660\u0661",  # Arabic-Indic digits: \\d matches them
    "\uff12\uff10\uff12\uff10-01-01",  # fullwidth digits
    "2020-01-01T15:00:00.5Z",
    "2020-01-01T15:00\n",
    "NL-\u0661",
    "\ud800",  # a lone surrogate: jsonschema-rs cannot read it, jsonschema decides
    "NL-NH\udfff",
    *(entry["value"] for entry in CORPUS["strings"] if "value" in entry),
]
#: Number texts the reader gets: integral ones with a fraction or exponent, more digits
#: than a float holds, beyond a float's range, beyond 64 bits, the hostile corpus's keys.
NUMBER_TEXTS = [
    "5.0",
    "1E+2",
    "0.7e1",
    "-0.0",
    "0.99999999999999999999",
    "1.00000000000000000001",
    "9007199254740993.0",
    "1e400",
    "-1e400",
    "1e-400",
    "1.5e-5000",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890.0",
    *(text for group in CORPUS["source_keys"] for text in group),
    *CORPUS["record_ids"],
    *CORPUS["bad_ids"],
]
#: Numbers as the reader gives them: integers of any size, a Decimal for any number written
#: with a fraction or exponent (the reader refuses more than 4300 digits before the point).
read_numbers = st.one_of(
    st.integers(),
    st.sampled_from([decode_line(text) for text in NUMBER_TEXTS]),
    st.decimals(allow_nan=False, allow_infinity=False).filter(lambda n: n.adjusted() < 4300),
    st.integers(-3, 3).map(lambda n: Decimal(f"{n}.0")),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=3),
    st.sampled_from([1.0, 0.0, 2.5, -1.0, 42.0]),
    read_numbers,
    st.sampled_from(TRICKY_STRINGS),
    st.text(max_size=4),
    # What the SDK makes of a string when the stream's schema calls the field a date.
    st.sampled_from([datetime.date(2020, 1, 1), datetime.datetime(2020, 1, 1, 15, 0)]),
)
values = st.one_of(
    leaves, st.lists(leaves, max_size=3), st.dictionaries(st.text(max_size=3), leaves)
)
persons = st.fixed_dictionaries(
    {},
    optional={
        "id": leaves,
        "hoofdcontact": leaves,
        "geslacht": leaves,
        "email1": leaves,
        "voornaam": leaves,
        "nieuwsbrief_ids": values,
    },
)
extra_fields = st.fixed_dictionaries(
    {},
    optional={
        "name": leaves,
        "type": st.one_of(st.sampled_from(TRICKY_STRINGS[13:18]), leaves),
        "value": values,
    },
)
records = st.fixed_dictionaries(
    {},
    optional={
        "id": leaves,
        "naam": leaves,
        "provinciecode": leaves,
        "bedrijf_id": leaves,
        "website": values,
        "contactpersonen": st.one_of(leaves, st.lists(st.one_of(persons, leaves), max_size=3)),
        "extra_fields": st.one_of(leaves, st.lists(st.one_of(extra_fields, leaves), max_size=3)),
        "external_id": values,
    },
)


valid_persons = st.one_of(
    st.fixed_dictionaries({"id": st.integers(1, 99), "hoofdcontact": st.booleans()}),
    st.fixed_dictionaries(
        {"hoofdcontact": st.booleans()},
        optional={
            "voornaam": st.text(max_size=3),
            "geslacht": st.sampled_from(["man", "vrouw", "onbekend", None]),
            "email1": st.one_of(st.none(), st.text(max_size=3)),
        },
    ),
)
valid_extra_fields = st.one_of(
    st.fixed_dictionaries(
        {
            "name": st.just("a"),
            "type": st.sampled_from(["text", "singlechoice"]),
            "value": st.text(),
        }
    ),
    st.fixed_dictionaries(
        {"name": st.just("n"), "type": st.just("number"), "value": st.integers()}
    ),
    st.fixed_dictionaries(
        {"name": st.just("d"), "type": st.just("date"), "value": st.just("2020-01-01")}
    ),
    st.fixed_dictionaries(
        {"name": st.just("m"), "type": st.just("multiplechoice"), "value": st.lists(st.text())}
    ),
)
valid_records = st.fixed_dictionaries(
    {"contactpersonen": st.lists(valid_persons, min_size=1, max_size=3)},
    optional={
        "id": st.integers(1, 10**6),
        "naam": st.text(max_size=5),
        "provinciecode": st.sampled_from(["NL-NH", "BE-VAN", "", None]),
        "bedrijf_id": st.one_of(st.none(), st.integers(1, 9)),
        "extra_fields": st.one_of(st.none(), st.lists(valid_extra_fields, max_size=3)),
        "external_id": values,
    },
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON value (dict keys and list positions), the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated_records(draw: st.DrawFn) -> Any:
    """A valid record with one value replaced (or one key dropped): near the boundary."""
    record = draw(valid_records)
    path = draw(st.sampled_from(_paths(record)))
    if not path:
        return draw(values)
    parent: Any = record
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(values)
    return record


@pytest.mark.slow
@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(valid_records, mutated_records(), records, values))
def test_fast_validator_agrees_with_jsonschema(instance: Any) -> None:
    assert FAST(instance) == DECIMAL_REFERENCE.is_valid(instance)


_encode = msgspec.json.Encoder(decimal_format="number").encode


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(valid_records, mutated_records(), records))
def test_records_as_the_reader_decodes_them_get_the_same_verdict(instance: Any) -> None:
    try:
        line = _encode(instance)
    except UnicodeEncodeError:
        assume(False)  # a lone surrogate: the reader rejects the line before validation
    read = decode_line(line)
    assert FAST(read) == DECIMAL_REFERENCE.is_valid(read)


VALID: dict[str, Any] = {
    "naam": "Familie Jansen",
    "provinciecode": "NL-NH",
    "bedrijf_id": 1,
    "contactpersonen": [
        {"voornaam": "Jan", "geslacht": "man", "email1": "jan@example.com", "hoofdcontact": True},
        {"id": 15, "hoofdcontact": False},
    ],
    "extra_fields": [
        {"name": "Schoenmaat", "type": "number", "value": 42},
        {"name": "Lid sinds", "type": "date", "value": "2020-01-01"},
        {"name": "Hobby's", "type": "multiplechoice", "value": ["zeilen"]},
    ],
}


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    record = copy.deepcopy(VALID)
    target: Any = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return record


EDGE_CASES = [
    ("valid record", VALID, True),
    ("id true is not an integer", _with(["id"], True), False),
    ("id 1.0 is an integer", _with(["id"], 1.0), True),
    ("id 1.5 is not", _with(["id"], 1.5), False),
    ("id 0 is below the minimum", _with(["id"], 0), False),
    ("id as a string", _with(["id"], "15"), False),
    ("bedrijf_id 2.0", _with(["bedrijf_id"], 2.0), True),
    ("bedrijf_id false", _with(["bedrijf_id"], False), False),
    ("bedrijf_id null", _with(["bedrijf_id"], None), True),
    ("number value 42.0", _with(["extra_fields", 0, "value"], 42.0), True),
    ("number value true", _with(["extra_fields", 0, "value"], True), False),
    ("number value as text", _with(["extra_fields", 0, "value"], "42"), False),
    ("date value not ISO", _with(["extra_fields", 1, "value"], "01-01-2020"), False),
    ("date value with newline", _with(["extra_fields", 1, "value"], "2020-01-01\n"), False),
    ("multiplechoice with a number", _with(["extra_fields", 2, "value"], ["a", 1]), False),
    ("unknown extra field type", _with(["extra_fields", 0, "type"], "float"), False),
    ("province with newline", _with(["provinciecode"], "NL-NH\n"), False),
    ("province lower case", _with(["provinciecode"], "nl-nh"), False),
    ("province empty", _with(["provinciecode"], ""), True),
    ("geslacht unknown", _with(["contactpersonen", 0, "geslacht"], "m"), False),
    ("geslacht null", _with(["contactpersonen", 0, "geslacht"], None), True),
    ("hoofdcontact 1", _with(["contactpersonen", 0, "hoofdcontact"], 1), False),
    ("linked person id true", _with(["contactpersonen", 1, "id"], True), False),
    ("linked person id 15.0", _with(["contactpersonen", 1, "id"], 15.0), True),
    ("no contact persons", _with(["contactpersonen"], []), False),
    ("contactpersonen null", _with(["contactpersonen"], None), False),
    ("naam as a number", _with(["naam"], 5), False),
]


@pytest.mark.parametrize(
    ("record", "valid"), [c[1:] for c in EDGE_CASES], ids=[c[0] for c in EDGE_CASES]
)
def test_edge_cases_have_the_expected_verdict(record: dict[str, Any], valid: bool) -> None:
    assert FAST(record) is valid
    assert REFERENCE.is_valid(record) is valid


READ_EDGE_CASES = [
    ("id 5.0 as read", _with(["id"], Decimal("5.0")), True),
    ("id 1E+2 as read", _with(["id"], Decimal("1E+2")), True),
    ("id just above 1 is not an integer", _with(["id"], Decimal("1.00000000000000000001")), False),
    ("id just below 1", _with(["id"], Decimal("0.99999999999999999999")), False),
    ("id beyond 64 bits", _with(["id"], 2**64), True),
    ("id 1e400 as read", _with(["id"], Decimal("1E+400")), True),
    ("id -2**64", _with(["id"], -(2**64)), False),
    ("bedrijf_id 1e-400 as read", _with(["bedrijf_id"], Decimal("1E-400")), False),
    ("number value 42.0 as read", _with(["extra_fields", 0, "value"], Decimal("42.0")), True),
    ("number value 4.2 as read", _with(["extra_fields", 0, "value"], Decimal("4.2")), False),
    ("naam with a lone surrogate", _with(["naam"], "Jan\ud800"), True),
    ("province with a lone surrogate", _with(["provinciecode"], "NL-NH\udc00"), False),
    ("naam parsed to a date by the SDK", _with(["naam"], datetime.date(2020, 1, 1)), False),
    ("id NaN", _with(["id"], float("nan")), False),
    ("id infinite", _with(["id"], float("inf")), False),
]


@pytest.mark.parametrize(
    ("record", "valid"), [c[1:] for c in READ_EDGE_CASES], ids=[c[0] for c in READ_EDGE_CASES]
)
def test_values_the_target_can_see_have_the_expected_verdict(
    record: dict[str, Any], valid: bool
) -> None:
    assert FAST(record) is valid
    assert DECIMAL_REFERENCE.is_valid(record) is valid


def _as_read(node: Any) -> Any:
    """``node`` as the reader gives it when every number is written with a fraction.

    ``2.5`` and ``1.0`` (and an integer written as ``7.0``) arrive as exact Decimals.
    """
    if isinstance(node, dict):
        return {key: _as_read(child) for key, child in node.items()}
    if isinstance(node, list):
        return [_as_read(child) for child in node]
    if isinstance(node, float):
        return Decimal(repr(node))
    if isinstance(node, int) and not isinstance(node, bool):
        return Decimal(f"{node}.0")
    return node


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(valid_records, mutated_records(), records, values))
def test_numbers_read_as_decimals_get_the_verdict_their_value_gets(instance: Any) -> None:
    # Both validators take an integral Decimal for an integer, as they take 1.0.
    read = _as_read(instance)
    assert FAST(read) == DECIMAL_REFERENCE.is_valid(read) == DECIMAL_REFERENCE.is_valid(instance)


def test_check_explains_with_field_path() -> None:
    validator = RecordValidator()
    problem = validator.check(_with(["contactpersonen", 0, "geslacht"], "m"))
    assert problem is not None
    assert problem.field_path == "contactpersonen[0].geslacht"
    assert "'m'" in problem.reason


@pytest.mark.parametrize("mains", [0, 2])
def test_exactly_one_main_contact(mains: int) -> None:
    record = copy.deepcopy(VALID)
    record["contactpersonen"][0]["hoofdcontact"] = mains == 2
    record["contactpersonen"][1]["hoofdcontact"] = mains == 2
    problem = RecordValidator().check(record)
    assert problem is not None
    assert problem.field_path == "contactpersonen"
    assert f"found {mains}" in problem.reason
    assert RecordValidator().check(VALID) is None


def test_format_path() -> None:
    assert format_path(["contactpersonen", 0, "geslacht"]) == "contactpersonen[0].geslacht"
    assert format_path([]) is None
