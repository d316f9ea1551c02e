"""One fast path: jsonschema-rs decides every draft 7 keyword, formats left unchecked as
jsonschema leaves them, and a schema that is not draft 7 is an error when the validator is
built, never a silent pass."""

from __future__ import annotations

import jsonschema_rs
import pytest

from target_recras.input.validation import RecordValidator

#: Keywords the target's own compiler (fastcheck.py, replaced by jsonschema-rs) refused.
SCHEMA = {
    "type": "object",
    "properties": {
        "naam": {"type": "string", "maxLength": 3},
        "labels": {"type": "array", "maxItems": 1, "uniqueItems": True},
    },
}


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"naam": "Jan"}, None),
        ({"naam": "Joost"}, "naam"),
        ({"labels": ["a"]}, None),
        ({"labels": ["a", "b"]}, "labels"),
    ],
)
def test_every_draft_7_keyword_is_checked(record: dict[str, object], field: str | None) -> None:
    validator = RecordValidator(SCHEMA)
    assert validator.is_schema_valid(record) is (field is None)
    problem = validator.check(record)
    assert (problem and problem.field_path) == field


def test_the_target_schema_compiles() -> None:
    assert RecordValidator().check({"contactpersonen": [{"hoofdcontact": True}]}) is None


def test_a_schema_that_is_not_draft_7_is_an_error_naming_its_place() -> None:
    schema = {"type": "object", "properties": {"naam": {"type": "strnig"}}}
    with pytest.raises(jsonschema_rs.ValidationError, match=r'\["properties"\]\["naam"\]'):
        RecordValidator(schema)


def test_formats_are_annotations_as_in_jsonschema() -> None:
    # jsonschema-rs asserts draft 7 formats by default, jsonschema does not: the target's
    # schema has none today, and one added later must not split the two validators' verdicts.
    schema = {"properties": {"email1": {"format": "email"}, "datum": {"format": "date"}}}
    record = {"email1": "not an address", "datum": "2024-13-45"}
    validator = RecordValidator(schema)
    assert validator.is_schema_valid(record)
    assert validator.check(record) is None
