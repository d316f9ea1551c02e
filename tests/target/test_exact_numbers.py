"""Numbers keep their exact value from the input line to Recras, the id map and the rejects file.

JSON numbers with a fraction or exponent are not floats to the target: ``9007199254740993.0``
is above 2**53, where floats skip odd integers, so as a float it is ``9007199254740992``.
The real ``target-recras`` against a real sandbox: two such source keys are two customers; an
integral number where Recras wants an integer is sent as that exact integer; a rejected
record is written to the rejects file as it came; ``1e400`` (beyond any float) is handled
exactly. Integral numbers are still one key whatever their spelling (``1``, ``1.0``,
``1e0``). A STATE with a float passes through as before.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    customer,
    rejects,
    run_target,
    run_target_ok,
    states,
    target_config,
)

from target_recras.input.reader import decode_line
from target_recras.writes.digest import payload_digest
from target_recras.writes.matching import source_key_text

pytestmark = pytest.mark.timeout(90)

SCHEMA = {
    "type": "SCHEMA",
    "stream": "klanten",
    "schema": {"type": "object", "properties": {}},
    "key_properties": ["external_id"],
}


def _line(record: dict[str, Any], **raw: str) -> str:
    """A RECORD line; each ``raw`` field's placeholder is replaced by its JSON number text."""
    text = json.dumps({"type": "RECORD", "stream": "klanten", "record": record})
    for name, number in raw.items():
        text = text.replace(json.dumps(f"<{name}>"), number)
    return text + "\n"


@pytest.mark.parametrize(
    ("keys", "summary"),
    [
        # Two numbers a float cannot tell apart; the same numbers spelt otherwise.
        (["9007199254740993.0", "9007199254740992", "9007199254740993", "9.007199254740992e15"],
         "2 created, 0 merged, 2 updated"),
        # Beyond any float, exactly: 1e400 and 10E+399 are one number, 2e400 another.
        (["1e400", "2e400", "10E+399"], "2 created, 0 merged, 1 updated"),
    ],
    ids=["above-2-to-the-53", "beyond-any-float"],
)  # fmt: skip
def test_number_source_keys_are_their_exact_values(
    sandbox_factory: Any, tmp_path: Path, keys: list[str], summary: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config(), max_workers=1)
    text = json.dumps(SCHEMA) + "\n"
    # The keys alternate between two numbers (spelt in several ways): record i is customer
    # i % 2, and the last record of each customer wins.
    for i, key in enumerate(keys):
        text += _line(customer(i % 2, external_id="<key>", plaats=f"Plaats {i}"), key=key)
    stderr = run_target_ok(config, text)
    last = {i % 2: f"Plaats {i}" for i in range(len(keys))}
    assert sorted(item["plaats"] for item in sandbox.customers()) == sorted(last.values())
    assert summary in stderr, stderr[-3000:]


def test_integral_numbers_are_sent_as_exact_integers(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    record = customer(
        1,
        bedrijf_id="<bedrijf>",
        extra_fields=[{"name": "Pasnummer", "type": "number", "value": "<pas>"}],
    )
    text = json.dumps(SCHEMA) + "\n" + _line(record, bedrijf="2.0", pas="12345678901234567890.0")
    run_target_ok(config, text)
    (held,) = sandbox.customers()
    assert held["bedrijf_id"] == 2
    assert held["extra_fields"] == [
        {"name": "Pasnummer", "type": "number", "value": 12345678901234567890}
    ]


def test_a_rejected_record_is_written_exactly(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    record = customer(1, score="<score>", big="<big>", huge="<huge>")
    record["contactpersonen"][0]["geslacht"] = "x"
    line = _line(record, score="0.10000000000000000001", big="9007199254740993.0", huge="1e400")
    result = run_target(config, json.dumps(SCHEMA) + "\n" + line)
    assert result.returncode == 0, result.stderr[-3000:]
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert entry["field_path"] == "contactpersonen[0].geslacht"
    written = (tmp_path / "rejects.jsonl").read_text(encoding="utf-8")
    as_written = json.loads(written, parse_float=Decimal)["record"]
    assert as_written == json.loads(line, parse_float=Decimal)["record"]
    assert as_written["score"] == Decimal("0.10000000000000000001")


@pytest.mark.parametrize(
    ("number", "field_path"),
    [
        ("1.5", "bedrijf_id"),
        ("0.5", "extra_fields[0].value"),
        # An integer, exactly: Recras refuses it (no such company), naming the field.
        ("1e400", "bedrijf_id"),
    ],
)
def test_a_number_recras_cannot_take_rejects_the_record_by_name(
    sandbox_factory: Any, tmp_path: Path, number: str, field_path: str
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    record = customer(1, extra_fields=[{"name": "Maat", "type": "number", "value": 1}])
    if field_path == "bedrijf_id":
        record["bedrijf_id"] = "<n>"
    else:
        record["extra_fields"][0]["value"] = "<n>"
    result = run_target(config, json.dumps(SCHEMA) + "\n" + _line(record, n=number))
    assert result.returncode == 0, result.stderr[-3000:]
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert entry["field_path"] == field_path
    assert entry["input_line"] == 2
    assert sandbox.customers() == []


def test_a_number_of_more_digits_than_any_integer_rejects_its_line(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    # Beyond the 4300 digits of the longest integer the reader takes (as msgspec does for
    # integers): no customer could be keyed by it nor sent it, so the line is rejected as is.
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    line = _line(customer(1, huge="<huge>"), huge="1e999999999")
    result = run_target(config, json.dumps(SCHEMA) + "\n" + line + _line(customer(2)))
    assert result.returncode == 0, result.stderr[-3000:]
    (entry,) = rejects(tmp_path / "rejects.jsonl")
    assert entry["input_line"] == 2
    assert entry["line"] == line.rstrip("\n")
    assert "1e999999999" in entry["reason"]
    assert [item["naam"] for item in sandbox.customers()] == ["Klant 2"]


def test_a_state_with_a_float_passes_through(sandbox_factory: Any, tmp_path: Path) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = target_config(tmp_path, sandbox.config())
    text = json.dumps(SCHEMA) + "\n" + _line(customer(1))
    text += '{"type": "STATE", "value": {"bookmark": 1.5}}\n'
    result = run_target(config, text)
    assert result.returncode == 0, result.stderr[-3000:]
    assert states(result.stdout) == [{"bookmark": 1.5}]


# -- the parts on their own ----------------------------------------------------------------


def test_the_reader_keeps_numbers_exact() -> None:
    message = decode_line(b'{"a": 9007199254740993.0, "b": 1e400, "c": 0.1, "d": 7}')
    assert message == {
        "a": Decimal("9007199254740993.0"),
        "b": Decimal("1e400"),
        "c": Decimal("0.1"),
        "d": 7,
    }


def test_source_key_text_of_numbers() -> None:
    one = {source_key_text(value) for value in (1, 1.0, Decimal("1.0"), Decimal("1E+0"))}
    assert one == {"1"}
    assert source_key_text(Decimal("9007199254740993.0")) != source_key_text(9007199254740992)
    # Fractions as earlier releases wrote them (as floats do), unless a float would round.
    assert source_key_text(Decimal("1.50")) == repr(1.5)
    assert source_key_text(Decimal("0.00001")) == repr(0.00001)
    assert source_key_text(Decimal("0.10000000000000000001")) == "0.10000000000000000001"


def test_digests_see_every_digit_and_no_spelling() -> None:
    body = {"naam": "Klant 1"}

    def digest(score: Any) -> str:
        return payload_digest(body, None, [{"voornaam": "Eva", "score": score}])

    assert digest(Decimal("0.1")) != digest(Decimal("0.10000000000000000001"))
    assert digest(Decimal("9007199254740993.0")) != digest(Decimal("9007199254740992"))
    assert digest(Decimal("1.50")) == digest(Decimal("1.5")) == digest(1.5)
    assert digest(Decimal("2.0")) == digest(2) == digest(2.0)
    assert digest(Decimal("1e400")) == digest(10**400)


def test_digests_written_by_earlier_releases_still_match() -> None:
    # Computed by the release before exact numbers: such a record is not sent again.
    body = {"naam": "Klant 1", "bedrijf_id": 2, "plaats": "Zoë's \u2028 \x1f"}
    persons = [{"voornaam": "Eva", "hoofdcontact": True, "score": 1.5}]
    assert payload_digest(body, 7, persons) == "5109f0ebcc97a1a0fc27b891390f2ecc"
