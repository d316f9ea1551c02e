"""Unit tests of target-recras's building blocks: lanes, checkpoints, id map, payloads."""

from __future__ import annotations

import json
import logging
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from target_recras.id_map import IdMap, KeyKind
from target_recras.run.checkpoints import Checkpoints
from target_recras.run.lanes import OrderedLanes
from target_recras.run.report import Note, Outcome, ProgressReporter, RunStats
from target_recras.writes.jobs import UpsertJob
from target_recras.writes.matching import customer_identity, matches_identity
from target_recras.writes.payload import build_body, link_existing_persons
from target_recras.writes.recovery import resolve_pending_creates

LOGGER = logging.getLogger("test")


# -- OrderedLanes -----------------------------------------------------------------------


def test_lanes_keep_input_order_per_key_and_run_keys_concurrently() -> None:
    lanes = OrderedLanes.start(workers=8)
    seen: dict[int, list[int]] = {key: [] for key in range(10)}
    running = {"now": 0, "max": 0}
    lock = threading.Lock()

    def job(key: int, n: int) -> None:
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        time.sleep(random.random() / 500)
        seen[key].append(n)
        with lock:
            running["now"] -= 1

    for n in range(400):
        key = n % 10
        lanes.submit(key, lambda key=key, n=n: job(key, n))
    lanes.wait()
    lanes.close()
    for key, order in seen.items():
        assert order == [n for n in range(400) if n % 10 == key]
    assert running["max"] > 1


def test_a_full_queue_blocks_submit_until_a_job_ends() -> None:
    lanes = OrderedLanes.start(workers=1, queue_per_worker=3)
    first_done, rest_done = threading.Event(), threading.Event()
    lanes.submit(0, lambda: first_done.wait(30))
    for n in (1, 2):
        lanes.submit(n, lambda: rest_done.wait(30))
    fourth = threading.Thread(target=lanes.submit, args=(3, lambda: None))
    fourth.start()
    fourth.join(0.2)
    assert fourth.is_alive()  # three jobs queued or running: the fourth waits for room
    first_done.set()
    fourth.join(30)  # one job ended: room for it, though two are still queued
    assert not fourth.is_alive()
    rest_done.set()
    lanes.wait()  # returns once all four ran
    assert lanes.pending == 0
    lanes.close()


def test_lanes_stop_after_a_failure_and_report_it() -> None:
    lanes = OrderedLanes.start(workers=2)
    ran: list[int] = []
    gate = threading.Event()

    def fail() -> None:
        gate.wait(5)
        raise RuntimeError("boom")

    lanes.submit("a", fail)
    for n in range(50):
        lanes.submit("b", lambda n=n: (gate.wait(5), ran.append(n)))
    gate.set()
    with pytest.raises(RuntimeError, match="boom"):
        lanes.wait()
    with pytest.raises(RuntimeError, match="boom"):
        lanes.submit("c", lambda: None)
    lanes.close()
    assert len(ran) < 50  # queued jobs were dropped, not run


# -- Checkpoints ------------------------------------------------------------------------


def test_state_waits_for_every_earlier_record() -> None:
    emitted: list[tuple[dict[str, Any], int]] = []
    checkpoints = Checkpoints(lambda state, mark: emitted.append((state, mark)))
    first, second = checkpoints.start(), checkpoints.start()
    checkpoints.add_state({"s": 1})
    third = checkpoints.start()
    checkpoints.add_state({"s": 2})
    checkpoints.finish(second)
    checkpoints.finish(third)
    assert emitted == []  # record `first` is still open
    checkpoints.finish(first)
    # Both became safe at once: only the newest is worth emitting.
    assert emitted == [({"s": 2}, 3)]
    checkpoints.add_state({"s": 3})
    assert emitted[-1] == ({"s": 3}, 3)


def test_state_is_held_forever_behind_an_unfinished_record() -> None:
    emitted: list[dict[str, Any]] = []
    checkpoints = Checkpoints(lambda state, _: emitted.append(state))
    checkpoints.start()  # never finished: its write failed
    later = checkpoints.start()
    checkpoints.finish(later)
    checkpoints.add_state({"s": 1})
    assert emitted == []
    assert checkpoints.watermark == 0


# -- id map -----------------------------------------------------------------------------


def test_id_map_written_before_floors_opens_and_keeps_its_pending_creates(
    tmp_path: Path,
) -> None:
    path = tmp_path / "map.sqlite3"
    with sqlite3.connect(path) as db:  # the table as maps before the floor column had it
        db.execute(
            "CREATE TABLE id_map (map_key TEXT PRIMARY KEY, kind TEXT NOT NULL, klant_id "
            "INTEGER, identity TEXT NOT NULL, run_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "updated_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO id_map VALUES ('source:a', 'source', 7, '[]', 'r', 0, 0)")
        db.execute("INSERT INTO id_map VALUES ('source:b', 'source', NULL, '[]', 'r', 1, 0)")
    db.close()
    id_map = IdMap.open(path)
    assert id_map.lookup("source:a") == 7
    assert [(p.map_key, p.floor) for p in id_map.pending()] == [("source:b", None)]
    id_map.begin_create("source:c", KeyKind.SOURCE, "[]", 2, 41)
    assert [(p.map_key, p.floor) for p in id_map.pending()] == [
        ("source:b", None),
        ("source:c", 41),
    ]
    id_map.close()


def test_id_map_round_trip_and_pending(tmp_path: Path) -> None:
    path = tmp_path / "map.sqlite3"
    id_map = IdMap.open(path)
    id_map.store("source:a", KeyKind.SOURCE, "[]", 5, 0)
    id_map.begin_create("source:b", KeyKind.SOURCE, '["B", "email:b@x.nl"]', 1, None)
    id_map.store("natural:x", KeyKind.NATURAL, "[]", 9, 2)
    id_map.close()

    reopened = IdMap.open(path)
    assert reopened.lookup("source:a") == 5
    assert reopened.lookup("source:b") is None
    assert [p.map_key for p in reopened.pending()] == ["source:b"]
    reopened.resolve("source:b", 6)
    assert reopened.lookup("source:b") == 6
    reopened.prune_natural(0, earlier_runs=True)  # another run's entry
    assert reopened.lookup("natural:x") is None
    assert reopened.lookup("source:a") == 5
    reopened.close()


def test_natural_entries_outlive_states_that_do_not_cover_them(tmp_path: Path) -> None:
    id_map = IdMap.open(tmp_path / "map.sqlite3")
    id_map.store("natural:old", KeyKind.NATURAL, "[]", 1, 3)
    id_map.store("natural:new", KeyKind.NATURAL, "[]", 2, 10)
    id_map.prune_natural(below_seq=5)
    assert id_map.lookup("natural:old") is None
    assert id_map.lookup("natural:new") == 2


def test_read_only_id_map_never_creates_or_writes(tmp_path: Path) -> None:
    id_map = IdMap.open(tmp_path / "absent.sqlite3", read_only=True)
    id_map.store("source:a", KeyKind.SOURCE, "[]", 5, 0)
    assert not (tmp_path / "absent.sqlite3").exists()


def test_kinds_and_outcomes_keep_their_text_in_the_id_map_summary_and_metrics(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Id maps written before the enums, and log readers, see the same plain words."""
    id_map = IdMap.open(tmp_path / "map.sqlite3")
    id_map.store(f"{KeyKind.SOURCE}:a", KeyKind.SOURCE, "[]", 5, 0)
    id_map.store(f"{KeyKind.NATURAL}:x", KeyKind.NATURAL, "[]", 6, 0)
    id_map.close()
    with sqlite3.connect(tmp_path / "map.sqlite3") as db:
        rows = db.execute("SELECT map_key, kind, typeof(kind) FROM id_map ORDER BY klant_id")
        assert rows.fetchall() == [("source:a", "source", "text"), ("natural:x", "natural", "text")]
    stats = RunStats()
    stats.count(Outcome.WOULD_CREATE)
    stats.add(Note.SHARED_CUSTOMERS, 1)
    assert "0 created" in stats.line(0)
    assert "; 1 customers written by several source keys; dry run: 1 would be created" in (
        stats.line(0)
    )
    with caplog.at_level(logging.INFO):
        stats.close()
    points = [json.loads(r.getMessage().removeprefix("METRIC: ")) for r in caplog.records]
    assert [p["tags"]["status"] for p in points if p["metric"] == "record_count"] == [
        "would_create"
    ]


_WRITER = """
import sys
from target_recras.id_map import IdMap
from target_recras.id_map import KeyKind
id_map = IdMap.open(sys.argv[1])
n = 0
while True:
    id_map.begin_create(f"source:{n}", KeyKind.SOURCE, "[]", n, n)
    id_map.store(f"source:{n}", KeyKind.SOURCE, "[]", n + 1, n)
    n += 1
    if n == 50:
        print("ready", flush=True)
"""


def test_id_map_survives_sigkill_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "map.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    id_map = IdMap.open(path)
    assert len(id_map.mapped_ids()) >= 50
    assert all(id_map.lookup(f"source:{n}") == n + 1 for n in range(50))
    # At most the one create in flight at the kill is pending.
    assert len(id_map.pending()) <= 1


# -- payloads ---------------------------------------------------------------------------


def test_body_keeps_only_the_recras_shape_and_sends_integers() -> None:
    record = {
        "external_id": "X",
        "id": 5,
        "_sdc_extracted_at": "2024-01-01",
        "naam": "A",
        "bedrijf_id": 2.0,
        "extra_fields": [{"name": "n", "type": "number", "value": 4.0, "x": 1}],
        "contactpersonen": [
            {"id": 3.0, "hoofdcontact": True, "voornaam": "ignored for a link"},
            {"voornaam": "B", "hoofdcontact": False, "nieuwsbrief_ids": [1]},
        ],
    }
    body = build_body(record)
    assert body == {
        "naam": "A",
        "bedrijf_id": 2,
        "contactpersonen": [
            {"id": 3, "hoofdcontact": True},
            {"voornaam": "B", "hoofdcontact": False},
        ],
        "extra_fields": [{"name": "n", "type": "number", "value": 4}],
    }
    assert isinstance(body["bedrijf_id"], int)
    assert build_body({"contactpersonen": [], "extra_fields": None}) == {"contactpersonen": []}


def test_existing_persons_are_linked_by_email_else_name() -> None:
    existing = [
        {"id": 1, "email1": "Jan@Example.com ", "voornaam": "Jan", "achternaam": "J"},
        {"id": 2, "email1": None, "voornaam": "Els", "achternaam": "de Vries"},
        {"id": 3, "email1": "x@y.nl", "voornaam": "X", "achternaam": "Y"},
    ]
    incoming = [
        {"email1": "jan@example.com", "voornaam": "Jan", "hoofdcontact": True},
        {"voornaam": "els", "achternaam": "De Vries", "hoofdcontact": False},
        {"email1": "new@y.nl", "hoofdcontact": False},
        {"id": 3, "hoofdcontact": False},
        {"email1": "x@y.nl", "hoofdcontact": False},  # person 3 is already linked above
    ]
    assert link_existing_persons(incoming, existing) == [
        {"id": 1, "hoofdcontact": True},
        {"id": 2, "hoofdcontact": False},
        {"email1": "new@y.nl", "hoofdcontact": False},
        {"id": 3, "hoofdcontact": False},
        {"email1": "x@y.nl", "hoofdcontact": False},
    ]


def test_customer_identity_matches_the_detail_recras_returns() -> None:
    persons = [{"voornaam": "Jan", "email1": "JAN@x.nl", "hoofdcontact": True}]
    identity = customer_identity("Familie J", persons)
    detail = {
        "naam": "Familie J",
        "contactpersonen": [{"id": 4, "email1": "jan@x.nl", "hoofdcontact": True}],
    }
    assert matches_identity(identity, detail)
    assert not matches_identity(identity, {**detail, "naam": "Familie K"})
    linked = customer_identity("Familie J", [{"id": 4, "hoofdcontact": True}])
    assert matches_identity(linked, detail)
    assert not matches_identity(linked, {**detail, "contactpersonen": [{"id": 5}]})


# -- recovery ---------------------------------------------------------------------------


class _FakeClient:
    def __init__(self, customers: list[dict[str, Any]]) -> None:
        self.customers = {c["id"]: c for c in customers}
        self.details = 0

    def iter_klanten(self, min_id: int | None = None) -> Any:
        return iter(self.customers.values())

    def get_klant(self, klant_id: int) -> dict[str, Any]:
        self.details += 1
        return self.customers[klant_id]


def test_recovery_resolves_landed_creates_and_drops_lost_ones(tmp_path: Path) -> None:
    def person(email: str) -> list[dict[str, Any]]:
        return [{"id": 1, "email1": email, "hoofdcontact": True}]

    client = _FakeClient(
        [
            {"id": 10, "naam": "A", "contactpersonen": person("a@x.nl")},
            {"id": 11, "naam": "A", "contactpersonen": person("other@x.nl")},
            {"id": 12, "naam": "C", "contactpersonen": person("c@x.nl")},
        ]
    )
    id_map = IdMap.open(tmp_path / "map.sqlite3")
    id_map.begin_create("source:a", KeyKind.SOURCE, json.dumps(["A", "email:a@x.nl"]), 0, None)
    id_map.begin_create("source:b", KeyKind.SOURCE, json.dumps(["B", "email:b@x.nl"]), 1, None)
    resolve_pending_creates(client, id_map, LOGGER)
    assert id_map.lookup("source:a") == 10
    assert id_map.lookup("source:b") is None
    assert id_map.pending() == []
    assert client.details == 2  # only customers named "A" were read in detail


# -- progress ---------------------------------------------------------------------------


def test_progress_lines_repeat_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    calls = iter(range(1000))
    with caplog.at_level(logging.INFO, logger="test"):
        reporter = ProgressReporter.start(LOGGER, lambda: f"line {next(calls)}", interval=0.02)
        time.sleep(0.15)
        reporter.stop()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress:")]
    assert len(lines) >= 3
    assert lines[0] == "Progress: line 0"


def test_a_source_key_decides_the_lane_even_when_the_record_names_an_id() -> None:
    """{external_id, id} then {external_id} must be written in order, not concurrently."""
    body = {"naam": "Familie Jansen", "contactpersonen": [{"hoofdcontact": True}]}

    def job(klant_id: int | None, map_key: str | None) -> UpsertJob:
        return UpsertJob(
            seq=0,
            input_line=None,
            stream="klanten",
            record=body,
            klant_id=klant_id,
            map_key=map_key,
            kind=KeyKind.SOURCE if map_key else None,
        )

    with_id = job(5, "source:external_id='X'")
    without_id = job(None, "source:external_id='X'")
    assert with_id.lane == without_id.lane
    # Without source keys, records naming the same id share a lane.
    assert job(5, None).lane == job(5, None).lane != job(6, None).lane
