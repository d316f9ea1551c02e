"""Source records, request counts and checks of Recras's data for the skip_unchanged tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from support.fault_proxy import FaultProxy
from support.target import customer


def source_record(n: int, version: int = 0) -> dict[str, Any]:
    """Customer ``n`` of the source; ``version`` > 0 changes its values."""
    record = customer(n, bedrijf_id=1, adres=f"Markt {n}")
    if version:
        record.update(plaats=f"Zwolle {version}", adres=f"Nieuwe Weg {version}")
    return record


def reshuffled(record: dict[str, Any]) -> dict[str, Any]:
    """The same record, as another export writes it: keys reversed, numbers as floats."""
    persons = [dict(reversed(person.items())) for person in record["contactpersonen"]]
    again = {**record, "contactpersonen": persons, "bedrijf_id": float(record["bedrijf_id"])}
    return dict(reversed(again.items()))


def writes(proxy: FaultProxy, since: int) -> Counter[str]:
    """Requests by method and path template since the ``since``-th one."""
    return Counter(
        f"{e.method} {'/api2/klanten' if e.path == '/api2/klanten' else '/api2/klanten/<id>'}"
        for e in proxy.log[since:]
    )


def by_email(sandbox: Any) -> dict[str, dict[str, Any]]:
    """Every customer in Recras by its one contact person's e-mail (asserts one each)."""
    found: dict[str, dict[str, Any]] = {}
    for item in sandbox.customers():
        emails = [p.get("email1") for p in item.get("contactpersonen") or []]
        assert len(emails) == 1, item
        assert emails[0] not in found, f"{emails[0]} twice"
        found[emails[0]] = item
    return found


def assert_data(sandbox: Any, expected: dict[int, dict[str, Any]]) -> None:
    """Recras holds exactly these source customers, each with its record's data."""
    held = by_email(sandbox)
    assert len(held) == len(expected)
    for n, record in expected.items():
        got = held[record["contactpersonen"][0]["email1"]]
        fields = ("naam", "plaats", "adres", "provinciecode", "bedrijf_id")
        assert {f: got.get(f) for f in fields} == {f: record[f] for f in fields}, n
