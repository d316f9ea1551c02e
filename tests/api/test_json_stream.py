"""The incremental JSON array parser yields exactly what json.loads would, however it is cut."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recras_api.jsonstream import JSONStreamError, iter_json_array

json_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(json_values, max_size=12),
    chunk_size=st.integers(min_value=1, max_value=64),
    indent=st.sampled_from([None, 0, 2]),
    ensure_ascii=st.booleans(),
)
def test_any_array_cut_anywhere_parses_like_json_loads(
    items: list[object], chunk_size: int, indent: int | None, ensure_ascii: bool
) -> None:
    body = json.dumps(items, indent=indent, ensure_ascii=ensure_ascii).encode()
    assert list(iter_json_array(_chunks(body, chunk_size))) == json.loads(body)


def test_numbers_cut_at_a_chunk_edge_are_not_truncated() -> None:
    body = b"[12345, -0.5e-7, 1.5E+3, true, null]"
    for size in range(1, len(body)):
        assert list(iter_json_array(_chunks(body, size))) == [12345, -0.5e-7, 1.5e3, True, None]


def test_multibyte_characters_split_across_chunks() -> None:
    body = json.dumps([{"naam": "Jänssen-IJzerman ë ü"}], ensure_ascii=False).encode()
    assert list(iter_json_array(_chunks(body, 1))) == [{"naam": "Jänssen-IJzerman ë ü"}]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "expected a JSON array"),
        (b'{"error": {"message": "x"}}', "expected a JSON array"),
        (b"<html>Bad gateway</html>", "expected a JSON array"),
        (b"[1,", "not closed"),
        (b"[", "not closed"),
        (b"[1 2]", "expected ',' or ']'"),
        (b"[1]x", "unexpected data after the array"),
        (b'[{"a":}]', "invalid JSON"),
        (b"[1,]", "invalid JSON"),
        (b"[1.]", "expected ',' or ']'"),
        (b"[\xff]", "not UTF-8"),
    ],
)
def test_broken_bodies_raise_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(JSONStreamError, match=reason):
        list(iter_json_array(_chunks(body, 3) or [b""]))


def test_error_counts_the_items_already_parsed() -> None:
    with pytest.raises(JSONStreamError) as caught:
        list(iter_json_array([b'[{"id": 1}, {"id": 2}, {"id": ']))
    assert caught.value.items_parsed == 2


def test_broken_body_is_not_buffered_without_bound() -> None:
    def endless_garbage():  # a broken item that never ends must not be read forever
        yield b'[{"a": x'
        while True:
            yield b"y" * 1024 * 1024

    with pytest.raises(JSONStreamError, match="invalid JSON"):
        list(iter_json_array(endless_garbage()))
