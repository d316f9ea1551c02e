"""The lower bounds tap-recras is measured against: plain ``requests`` + ``json`` or ``msgspec``.

It does the least a hand-written extractor must do to produce the same RECORD lines: fetch
one list of API2 (``GET /api2/<stream>``, following ``Link: rel="next"`` when the server
pages it), decode each body whole, and write one line per item. With ``--details N`` it also
makes each item's child request on N threads (in list order, as :data:`CHILDREN` says: a
customer's detail, a booking's detail, an invoice's payments) and writes the child records,
each with its parent's id, before the item (with the children nested where the tap nests
them). No retries, no state, no schema: this is the floor, not a competitor.

``--msgspec`` decodes the bodies and encodes the lines with msgspec instead of :mod:`json`
(the library the tap's message writer encodes with); fractions decode as ``Decimal`` and are
written with the digits they came with, as the tap writes money. Either way a line carries
what the tap's RECORD line carries: type, stream, the record as Recras sent it,
``time_extracted`` in the tap's form (``...Z``; one timestamp for the run, which is the least
work) and, for streams the benchmarks read FULL_TABLE, the run's ``version``.

Usage: ``python benchmarks/tap_plain.py BASE_URL API_KEY [--stream NAME] [--details THREADS]
[--msgspec]`` (output on stdout; ``--stream`` defaults to ``klanten``)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin

import msgspec
import requests
from requests.adapters import HTTPAdapter


@dataclass(frozen=True)
class Children:
    """How one item's child records are fetched and written."""

    #: The child stream.
    stream: str
    #: The property naming the parent in each child record (part of its key).
    parent_key: str
    #: The request per item, ``{id}`` the item's id.
    path: str
    #: The answer's property holding the children, also nested in the parent's record under
    #: that name; None: the answer is the list of children and the record holds none.
    nested: str | None = None
    #: The property numbering each child in its parent's list, if the tap adds one.
    position_key: str | None = None

    def of(self, answer: Any) -> list[dict[str, Any]]:
        """The children in one answer to :attr:`path`."""
        children: list[dict[str, Any]] = answer[self.nested] if self.nested else answer
        return children


#: The child requests ``--details`` makes, per stream (a booking's lines are in its detail
#: under the sandbox's ``booking_lines=detail`` reading).
CHILDREN = {
    "klanten": Children(
        "contactpersonen", "klant_id", "/api2/klanten/{id}", "contactpersonen", "positie"
    ),
    "boekingen": Children("boekingsregels", "boeking_id", "/api2/boekingen/{id}", "boekingsregels"),
    "facturen": Children("betalingen", "factuur_id", "/api2/facturen/{id}/betalingen"),
}
#: Streams the benchmarks read incrementally: their RECORD lines carry no ``version``.
INCREMENTAL = frozenset({"klanten"})


def json_codec() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """Decode and encode with the standard library."""

    def encode(line: Any) -> bytes:
        return (json.dumps(line, separators=(",", ":")) + "\n").encode()

    return json.loads, encode


def msgspec_codec() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """Decode and encode with msgspec; fractions as ``Decimal``, written as numbers."""
    decoder = msgspec.json.Decoder(float_hook=Decimal)
    encoder = msgspec.json.Encoder(decimal_format="number")

    def encode(line: Any) -> bytes:
        return encoder.encode(line) + b"\n"

    return decoder.decode, encode


def main() -> None:
    """Fetch and print; see the module docstring."""
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("--stream", default="klanten", help="the list: GET /api2/<stream>")
    parser.add_argument("--details", type=int, default=0, help="detail threads; 0 = none")
    parser.add_argument("--msgspec", action="store_true", help="msgspec instead of json")
    args = parser.parse_args()
    decode, encode = msgspec_codec() if args.msgspec else json_codec()

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=max(args.details, 1)))
    session.headers["Authorization"] = f"Bearer {args.api_key}"

    def get(url: str) -> requests.Response:
        response = session.get(url, timeout=600)
        response.raise_for_status()
        return response

    def listed() -> Iterator[dict[str, Any]]:
        url: str | None = f"{args.base_url}/api2/{args.stream}"
        while url:
            response = get(url)
            yield from decode(response.content)
            following = response.links.get("next")
            url = urljoin(response.url, following["url"]) if following else None

    out = sys.stdout.buffer
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    # The tap's order: the version (full-table runs) before the timestamp.
    header: dict[str, Any] = {} if args.stream in INCREMENTAL else {"version": int(time.time())}
    header["time_extracted"] = now

    def record(stream: str, row: dict[str, Any]) -> None:
        out.write(encode({"type": "RECORD", "stream": stream, "record": row, **header}))

    if not args.details:
        for item in listed():
            record(args.stream, item)
        return

    children = CHILDREN[args.stream]

    def with_children(item: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        answer = decode(get(args.base_url + children.path.format(id=item["id"])).content)
        return item, children.of(answer)

    with ThreadPoolExecutor(max_workers=args.details) as pool:
        for item, found in pool.map(with_children, listed()):
            for position, child in enumerate(found):
                row = {**child, children.parent_key: item["id"]}
                if children.position_key:
                    row[children.position_key] = position
                record(children.stream, row)
            if children.nested:
                item[children.nested] = found
            record(args.stream, item)


if __name__ == "__main__":
    main()
