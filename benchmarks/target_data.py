"""Deterministic customer records in the Recras body shape, for target-recras benchmarks."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_FIRST = ("Jan", "Els", "Piet", "Anna", "Kees", "Sanne", "Joost", "Fleur", "Bram", "Noor")
_LAST = ("Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder")
_PLACES = (("Amsterdam", "NL-NH"), ("Utrecht", "NL-UT"), ("Assen", "NL-DR"), ("Delft", "NL-ZH"))


def _person(rng: random.Random, n: int, main: bool) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return {
        "voornaam": first,
        "achternaam": last,
        "geslacht": rng.choice(("man", "vrouw", "onbekend")),
        "email1": f"{first.lower()}.{n}@example.com",
        "telefoon1": f"06{rng.randrange(10**8):08d}",
        "hoofdcontact": main,
    }


def customer(n: int, rng: random.Random) -> dict[str, Any]:
    """Customer ``n``: 1-2 contact persons and 0-2 extra fields, like a CRM export."""
    place, province = rng.choice(_PLACES)
    record: dict[str, Any] = {
        "external_id": f"CRM-{n:07d}",
        "naam": f"Klant {n} {rng.choice(_LAST)}",
        "adres": f"Dorpsstraat {rng.randrange(1, 300)}",
        "postcode": f"{rng.randrange(1000, 9999)} AB",
        "plaats": place,
        "provinciecode": province,
        "soort_klant": rng.choice(("Familie", "Bedrijf", None)),
        "contactpersonen": [_person(rng, n, True)]
        + ([_person(rng, n + 1, False)] if rng.random() < 0.5 else []),
    }
    extra = [
        {"name": "Schoenmaat", "type": "number", "value": rng.randrange(30, 48)},
        {"name": "Lid sinds", "type": "date", "value": f"20{rng.randrange(10, 25)}-01-15"},
    ]
    if n % 3:
        record["extra_fields"] = extra[: n % 3]
    return record


def customers(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` customers with distinct names and source keys."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        yield customer(n, rng)


def write_singer_file(path: Path, count: int, *, state_every: int = 1000) -> Path:
    """SCHEMA, ``count`` RECORD messages of stream klanten, a STATE every ``state_every``."""
    with path.open("w", encoding="utf-8") as out:
        schema = {"type": "object", "properties": {"external_id": {"type": "string"}}}
        header = {"type": "SCHEMA", "stream": "klanten", "schema": schema}
        out.write(json.dumps({**header, "key_properties": ["external_id"]}) + "\n")
        for n, record in enumerate(customers(count), start=1):
            out.write(json.dumps({"type": "RECORD", "stream": "klanten", "record": record}) + "\n")
            if n % state_every == 0:
                out.write(json.dumps({"type": "STATE", "value": {"position": n}}) + "\n")
    return path


def write_bodies_file(path: Path, count: int) -> Path:
    """The same ``count`` customers as POST bodies (no source key), one JSON object a line.

    ``target_plain.py post`` reads it: the bound the target's creates are measured against.
    """
    lines = (
        json.dumps({k: v for k, v in record.items() if k != "external_id"}) + "\n"
        for record in customers(count)
    )
    path.write_text("".join(lines), encoding="utf-8")
    return path
