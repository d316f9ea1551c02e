"""source-recras's offer, catalogs and state, derived from a Singer catalog (no stream named).

A synthetic catalog in the shapes tap-recras discovers: ``orders`` incremental on its ``id``
with a child ``order_lines`` (named by ``parent-tap-stream-id``); ``invoices`` incremental on
a date with a child ``payments`` (named by the stream classes, as the tap's are); ``lines``
incremental on a field of a nested object; ``products``, a reference table read in full.
"""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from singer_sdk.singerlib.encoding.simple import RecordMessage, StateMessage

from airbyte_recras.failures import ConnectorInputError
from airbyte_recras.output import AirbyteOutput
from airbyte_recras.source import AirbyteMessageWriter
from airbyte_recras.streams import SourceStreams
from tap_recras.tap import TapRecras


def _entry(
    name: str,
    properties: dict[str, Any],
    keys: list[str],
    replication_key: str | None = None,
    parent: str | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"inclusion": "available", "table-key-properties": keys}
    if replication_key:
        metadata |= {
            "replication-key": replication_key,
            "valid-replication-keys": [replication_key],
        }
    if parent:
        metadata["parent-tap-stream-id"] = parent
    schema = {"type": "object", "properties": properties}
    return {
        "tap_stream_id": name,
        "stream": name,
        "schema": schema,
        "key_properties": keys,
        "replication_key": replication_key,
        "replication_method": method or ("INCREMENTAL" if replication_key else "FULL_TABLE"),
        "metadata": [{"breadcrumb": [], "metadata": metadata}],
    }


INTEGER = {"type": ["integer"]}
DATE = {"type": ["string", "null"], "format": "date"}
SINGER_CATALOG = {
    "streams": [
        _entry("orders", {"id": INTEGER, "naam": {"type": ["string"]}}, ["id"], "id"),
        _entry("order_lines", {"order_id": INTEGER, "id": INTEGER}, ["order_id", "id"],
               parent="orders"),
        _entry("invoices", {"id": INTEGER, "datum": DATE}, ["id"], "datum"),
        _entry("payments", {"invoice_id": INTEGER, "id": INTEGER}, ["invoice_id", "id"]),
        _entry(
            "lines",
            {"id": INTEGER, "Invoice": {"type": "object", "properties": {"datum": DATE}}},
            ["id"],
            "Invoice.datum",
        ),
        # Incremental on a position its records do not carry (date windows read).
        _entry("ledger", {"id": INTEGER}, ["id"], method="INCREMENTAL"),
        # Full table by default, incremental on request.
        _entry("bookings", {"id": INTEGER}, ["id"], "id", method="FULL_TABLE"),
        _entry("products", {"id": INTEGER}, ["id"]),
    ]
}  # fmt: skip
#: Parents known from the stream classes only (``parent_stream_type``), not the metadata.
CLASS_PARENTS = {"payments": "invoices"}
ALL_INCREMENTAL = dict.fromkeys(
    ["orders", "order_lines", "invoices", "payments", "lines", "ledger", "bookings", "products"],
    "incremental",
)


@pytest.fixture
def offer() -> SourceStreams:
    return SourceStreams(SINGER_CATALOG, CLASS_PARENTS)


def _configured(modes: dict[str, str], **cursors: list[str]) -> dict[str, Any]:
    return {
        "streams": [
            {
                "stream": {"name": name, "json_schema": {}, "supported_sync_modes": [mode]},
                "sync_mode": mode,
                "destination_sync_mode": "append",
                **({"cursor_field": cursors[name]} if name in cursors else {}),
            }
            for name, mode in modes.items()
        ]
    }


def _state(name: str, stream_state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": name}, "stream_state": stream_state},
    }


def test_catalog_offers_each_stream_with_its_keys_cursor_and_modes(offer: SourceStreams) -> None:
    catalog = offer.airbyte_catalog()
    offered = {
        stream["name"]: (
            stream["supported_sync_modes"],
            stream["default_cursor_field"],
            stream["source_defined_primary_key"],
            stream["source_defined_cursor"],
        )
        for stream in catalog["streams"]
    }
    both = ["full_refresh", "incremental"]
    assert offered == {
        "orders": (both, ["id"], [["id"]], True),
        # The child follows its parent: its records carry the parent's cursor as order_id.
        "order_lines": (both, ["order_id"], [["order_id"], ["id"]], True),
        "invoices": (both, ["datum"], [["id"]], True),
        # Read with the invoices of the look-back, but carrying no invoice date: no cursor.
        "payments": (both, [], [["invoice_id"], ["id"]], True),
        "lines": (both, ["Invoice", "datum"], [["id"]], True),
        "ledger": (both, [], [["id"]], True),
        "bookings": (both, ["id"], [["id"]], True),
        "products": (["full_refresh"], [], [["id"]], False),
    }
    assert [s["json_schema"] for s in catalog["streams"]] == [
        e["schema"] for e in SINGER_CATALOG["streams"]
    ]


def test_incremental_asked_of_a_full_refresh_only_stream_reads_it_in_full(
    offer: SourceStreams,
) -> None:
    """PyAirbyte asks every stream for incremental, whatever it supports."""
    modes = offer.configured_modes(_configured(ALL_INCREMENTAL))
    assert modes == {**ALL_INCREMENTAL, "products": "full_refresh"}
    assert [s.name for s in offer.incremental(modes)] == [
        "orders",
        "order_lines",
        "invoices",
        "payments",
        "lines",
        "ledger",
        "bookings",
    ]


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ({"invoices": "incremental", "payments": "full_refresh"},
         "invoices and payments must use the same sync_mode"),
        ({"order_lines": "full_refresh", "orders": "incremental"},
         "orders and order_lines must use the same sync_mode"),
        ({"customers": "incremental"}, "'customers'; source-recras has orders, order_lines,"),
        ({"orders": "append"}, "sync_mode 'append' is not supported"),
    ],
)  # fmt: skip
def test_configured_catalog_the_tap_cannot_read_is_refused(
    offer: SourceStreams, modes: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConnectorInputError, match=expected):
        offer.configured_modes(_configured(modes))


def test_a_cursor_can_be_named_only_as_offered(offer: SourceStreams) -> None:
    modes = {"lines": "incremental", "order_lines": "incremental"}
    assert offer.configured_modes(_configured(modes, lines=["Invoice", "datum"])) == modes
    with pytest.raises(ConnectorInputError, match=r"source-defined: \['order_id'\]"):
        offer.configured_modes(_configured(modes, order_lines=["id"]))


def test_singer_catalog_selects_the_configured_streams_in_their_families_method(
    offer: SourceStreams,
) -> None:
    modes = {"order_lines": "incremental", "payments": "full_refresh", "products": "full_refresh"}
    catalog = offer.singer_catalog(SINGER_CATALOG, modes)
    root = {
        e["tap_stream_id"]: next(m["metadata"] for m in e["metadata"] if m["breadcrumb"] == [])
        for e in catalog["streams"]
    }
    asked = {name: (m["selected"], m.get("replication-method")) for name, m in root.items()}
    assert asked == {
        # Not selected, but read for its child, from its own position.
        "orders": (False, "INCREMENTAL"),
        "order_lines": (True, None),
        "invoices": (False, "FULL_TABLE"),
        "payments": (True, "FULL_TABLE"),
        "lines": (False, None),
        "ledger": (False, None),
        "bookings": (False, None),
        "products": (True, "FULL_TABLE"),
    }
    assert "selected" not in json.dumps(SINGER_CATALOG), "the discovered catalog was changed"


def test_each_streams_state_resumes_its_position_streams_bookmark(offer: SourceStreams) -> None:
    orders = {"replication_key": "id", "replication_key_value": 40}
    invoices = {"replication_key": "datum", "replication_key_value": "2026-11-30"}
    lines = {"replication_key": "Invoice.datum", "replication_key_value": "2026-12-01"}
    ledger = {"replication_key": "eind", "replication_key_value": "2026-12-09"}
    state = [
        _state("payments", invoices),
        _state("order_lines", {"replication_key": "id", "replication_key_value": 39}),
        _state("orders", orders),
        _state("lines", lines),
        _state("ledger", ledger),
        _state("products", {"replication_key_value": 1}),
    ]
    modes = offer.configured_modes(_configured(ALL_INCREMENTAL))
    # A family resumes from its earliest state (order_lines was toggled off for a read), or
    # from the start when one of its streams read now has none (invoices: added since).
    assert offer.singer_state(state, modes) == {
        "bookmarks": {
            "orders": {"replication_key": "id", "replication_key_value": 39},
            "lines": lines,
            "ledger": ledger,
        }
    }
    resumed = offer.singer_state([*state, _state("invoices", invoices)], modes)
    assert resumed is not None and resumed["bookmarks"]["invoices"] == invoices
    # A child alone resumes its parent; a family read in full resumes from nothing.
    alone = {"order_lines": "incremental", "payments": "full_refresh"}
    assert offer.singer_state(state[:2], alone) == {
        "bookmarks": {"orders": {"replication_key": "id", "replication_key_value": 39}}
    }
    assert offer.singer_state(state, {"products": "full_refresh"}) is None


def test_the_state_of_a_stream_not_offered_is_left_aside_and_a_nameless_one_refused(
    offer: SourceStreams, caplog: pytest.LogCaptureFixture
) -> None:
    modes = offer.configured_modes(_configured(ALL_INCREMENTAL))
    orders = {"replication_key": "id", "replication_key_value": 40}
    gone = _state("customers", {"replication_key": "id", "replication_key_value": 7})

    assert offer.singer_state([gone, _state("orders", orders)], {"orders": "incremental"}) == {
        "bookmarks": {"orders": orders}
    }
    assert "'customers', which is not a stream of source-recras" in caplog.text
    nameless = {"type": "STREAM", "stream": {"stream_descriptor": {}, "stream_state": {}}}
    with pytest.raises(ConnectorInputError, match=r"State entry 0 .* needs a stream name"):
        offer.singer_state([nameless], modes)


def test_a_familys_positions_that_cannot_be_compared_are_a_config_error(
    offer: SourceStreams,
) -> None:
    state = [
        _state("orders", {"replication_key": "id", "replication_key_value": "2026-11-30"}),
        _state("order_lines", {"replication_key": "id", "replication_key_value": 39}),
    ]
    with pytest.raises(ConnectorInputError, match=r"orders .* cannot be compared"):
        offer.singer_state(state, offer.configured_modes(_configured(ALL_INCREMENTAL)))


def test_parents_come_from_the_tap_stream_classes() -> None:
    tap = TapRecras(
        config={"base_url": "http://127.0.0.1:9", "api_key": "k"}, parse_env_config=False
    )
    offer = SourceStreams.of_tap(tap)
    assert offer.parents["contactpersonen"] == "klanten"
    assert offer.streams["contactpersonen"].cursor == ("klant_id",)


class _Written:
    """What an :class:`AirbyteMessageWriter` wrote, as messages."""

    def __init__(self, offer: SourceStreams, modes: dict[str, str]) -> None:
        self.stdout = io.BytesIO()
        self.writer = AirbyteMessageWriter(AirbyteOutput(self.stdout), offer.incremental(modes))

    def states(self) -> dict[str, list[Any]]:
        """Each stream's stream_states, in order."""
        lines = [json.loads(line) for line in self.stdout.getvalue().splitlines()]
        self.stdout.seek(0)
        self.stdout.truncate()
        found: dict[str, list[Any]] = {}
        for line in lines:
            if line["type"] == "STATE":
                stream = line["state"]["stream"]
                found.setdefault(stream["stream_descriptor"]["name"], []).append(
                    stream["stream_state"]
                )
        return found


def test_every_incremental_stream_gets_its_own_position_at_every_advance(
    offer: SourceStreams,
) -> None:
    """Three reads' worth of STATE from one tap state changed in place, as the tap does.

    The tap keeps mutating the dict it wrote; a position kept by reference would equal the
    newest one, and the writer would stop writing STATE once nothing seems to move.
    """
    modes = offer.configured_modes(_configured(ALL_INCREMENTAL))
    written = _Written(offer, modes)
    tap_state: dict[str, Any] = {"bookmarks": {}}
    markers = {"Note": "Progress is not resumable", "replication_key": "id"}
    orders = tap_state["bookmarks"]["orders"] = {
        "progress_markers": {**markers, "replication_key_value": 10}
    }
    written.writer.write_message(RecordMessage("orders", {"id": 10}))
    written.writer.write_message(StateMessage(tap_state))
    # Records, but only the progress markers of a first read: nothing to resume from yet.
    assert written.states() == {"orders": [{}]}

    orders.pop("progress_markers")
    orders |= {"replication_key": "id", "replication_key_value": 10}
    tap_state["bookmarks"]["invoices"] = {
        "replication_key": "datum",
        "replication_key_value": "2026-11-30",
    }
    written.writer.write_message(StateMessage(tap_state))
    assert written.states() == {
        "orders": [{"replication_key": "id", "replication_key_value": 10}],
        "order_lines": [{"replication_key": "id", "replication_key_value": 10}],
        "invoices": [{"replication_key": "datum", "replication_key_value": "2026-11-30"}],
        "payments": [{"replication_key": "datum", "replication_key_value": "2026-11-30"}],
    }
    written.writer.write_message(StateMessage(tap_state))
    assert written.states() == {}, "a STATE saying nothing new was repeated"

    for value in (11, 12):  # moved in place, twice
        orders["replication_key_value"] = value
        written.writer.write_message(RecordMessage("order_lines", {"order_id": value, "id": 1}))
        written.writer.write_message(StateMessage(copy.copy(tap_state)))
        position = {"replication_key": "id", "replication_key_value": value}
        assert written.states() == {"orders": [position], "order_lines": [position]}


def test_money_leaves_as_the_json_number_recras_sent(offer: SourceStreams) -> None:
    """The tap's records carry exact ``Decimal`` money: written with its digits, no float."""
    written = _Written(offer, {"invoices": "incremental"})
    amounts = {"bedrag": Decimal("12.50"), "btw": {"21": Decimal("-0.10")}, "big": Decimal("1e2")}
    written.writer.write_message(RecordMessage("invoices", {"id": 1, **amounts}))
    written.writer.flush()
    (line,) = written.stdout.getvalue().decode().splitlines()
    assert '"data":{"id":1,"bedrag":12.50,"btw":{"21":-0.10},"big":1E+2}' in line
    assert json.loads(line, parse_float=Decimal)["record"]["data"] == {"id": 1, **amounts}
