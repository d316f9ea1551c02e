"""One fast path: a schema keyword fastcheck cannot compile is an error when the validator is
built, never a silent switch to another validator."""

from __future__ import annotations

import re

import pytest

from target_recras.fastcheck import UnsupportedSchemaError
from target_recras.validation import RecordValidator


def test_unsupported_keyword_is_a_clear_error_naming_keyword_and_place() -> None:
    schema = {"type": "object", "properties": {"naam": {"type": "string", "maxLength": 3}}}
    with pytest.raises(UnsupportedSchemaError) as caught:
        RecordValidator(schema)
    message = str(caught.value)
    assert "'maxLength'" in message
    assert "properties.naam" in message
    assert "target_recras/fastcheck.py" in message


def test_the_target_schema_compiles() -> None:
    assert RecordValidator().check({"contactpersonen": [{"hoofdcontact": True}]}) is None


def test_the_error_names_a_nested_place() -> None:
    value_rule = {"type": "array", "maxItems": 2}
    extra_field = {
        "allOf": [{"if": {"required": ["type"]}, "then": {"properties": {"value": value_rule}}}]
    }
    schema = {"properties": {"extra_fields": {"type": "array", "items": extra_field}}}
    with pytest.raises(
        UnsupportedSchemaError,
        match=re.escape(
            "'maxItems' at properties.extra_fields.items.allOf[0].then.properties.value,"
        ),
    ):
        RecordValidator(schema)
