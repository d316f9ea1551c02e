"""The customer list's batch decode (msgspec) yields what json.loads yields.

``recras_api.jsonstream`` decodes the run of whole objects in its buffer at once with msgspec
and falls back to one item at a time with :mod:`json`. These tests hold the result to
``json.loads`` where the two decoders could differ (a ``},`` inside a string, values only
:mod:`json` accepts, errors after many objects), and check that the batch decode carries a
list of objects and is never retried on the same text.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recras_api import jsonstream
from recras_api.jsonstream import JSONStreamError, iter_json_array

#: Text that looks like the end of an object: a batch cut inside it must not be taken.
tricky_text = st.text(alphabet=st.sampled_from(list('},{]["\\ aé€\n')), max_size=12)
json_scalars = st.none() | st.booleans() | st.integers() | tricky_text | st.floats(allow_nan=False)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=10,
)
objects = st.dictionaries(tricky_text, json_values, max_size=5)


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(objects | json_values, max_size=30),
    chunk_size=st.integers(min_value=1, max_value=2048),
    indent=st.sampled_from([None, 0, 2]),
    ensure_ascii=st.booleans(),
)
def test_objects_cut_anywhere_parse_like_json_loads(
    items: list[Any], chunk_size: int, indent: int | None, ensure_ascii: bool
) -> None:
    body = json.dumps(items, indent=indent, ensure_ascii=ensure_ascii).encode()
    assert list(iter_json_array(_chunks(body, chunk_size))) == json.loads(body)


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "-Infinity",
        "1e400",
        '"\\ud800"',
        '"\\udc00\\ud800"',
        "123456789012345678901234567890",
    ],
)
def test_values_only_json_accepts_parse_like_json_loads(value: str) -> None:
    # msgspec refuses most of these (or could decode them differently): json decides.
    body = ("[" + ",".join(f'{{"id": {i}, "v": {value}}}' for i in range(50)) + "]").encode()
    for size in (7, 64, len(body)):
        parsed = list(iter_json_array(_chunks(body, size)))
        assert repr(parsed) == repr(json.loads(body))


def test_an_error_after_many_objects_names_the_count_before_it() -> None:
    body = b"[" + b",".join(b'{"id": %d}' % i for i in range(1000)) + b', {"id": }]'
    with pytest.raises(JSONStreamError, match="invalid JSON") as caught:
        list(iter_json_array(_chunks(body, 4096)))
    assert caught.value.items_parsed == 1000


class _CountingDecoder:
    """msgspec's decoder, counting the batch decodes and the items they produce."""

    def __init__(self) -> None:
        self.calls = 0
        self.items = 0
        self._decoder = msgspec.json.Decoder()

    def decode(self, text: str) -> Any:
        self.calls += 1
        items = self._decoder.decode(text)
        self.items += len(items)
        return items


def test_a_list_of_objects_is_decoded_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = _CountingDecoder()
    monkeypatch.setattr(jsonstream, "_BATCH_DECODER", counting)
    items = [
        {"id": i, "naam": f"klant {i}", "_links": {"self": {"href": "/x"}}} for i in range(5000)
    ]
    chunks = _chunks(json.dumps(items).encode(), 64 * 1024)
    assert list(iter_json_array(chunks)) == items
    # All but the last (it ends with "]", not "},"): an item cut by a chunk edge too.
    assert counting.items == len(items) - 1
    assert counting.calls <= 2 * len(chunks)


def test_text_a_batch_decode_failed_on_is_not_decoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Strings full of "}," make every batch cut fail; retrying from every item on would
    # decode the buffer once per item, quadratic in the body.
    counting = _CountingDecoder()
    monkeypatch.setattr(jsonstream, "_BATCH_DECODER", counting)
    items = ["},{}," * 3] * 20_000
    chunks = _chunks(json.dumps(items).encode(), 64 * 1024)
    assert list(iter_json_array(chunks)) == items
    assert counting.calls <= 2 * len(chunks)
