"""The id map's commits: what is on disk when, and one lane's commit never holds up the others.

A change that a request depends on is on disk before the request is sent: a create's pending
row when :meth:`~target_recras.id_map.IdMap.begin_create` returns (its ``POST`` follows), and
every change queued so far when ``outdate_others`` returns (a ``PUT`` follows, maybe to the
customer a queued answer names). What an answer taught the map (``store``, ``confirm``) is
queued: committed with the next such change, by ``commit`` (the target calls it before it
emits a STATE), or by ``close``; a stop before that leaves the create pending, as a stop
before the answer would.

The writer lanes share one map. A lane waiting for its commit (here: behind another
connection's write lock on the SQLite file, as behind a slow disk) must not keep the other
lanes from reading and changing the map in memory. The changes the lanes queued meanwhile
are committed together, in one transaction of the back end (SQLite, and PostgreSQL on the
suite's private cluster): all of them or, when one fails, none.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
import pytest

from target_recras.id_map import IdMap, KeyKind
from target_recras.id_map._map import locate
from target_recras.id_map._store import Statement

pytestmark = pytest.mark.timeout(60)


#: Longer than a commit takes on any machine: a call that waits for one takes at least this.
BLOCKED_SECONDS = 1.5


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another connection holds the file's write lock until the block ends."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def klant_ids(path: Path) -> dict[str, int | None]:
    """The rows on disk, read by a connection of their own."""
    with closing(sqlite3.connect(path)) as reader:
        return dict(reader.execute("SELECT map_key, klant_id FROM id_map").fetchall())


def test_lanes_use_the_map_while_another_lane_waits_for_its_commit(tmp_path: Path) -> None:
    path = tmp_path / "id-map.sqlite3"
    id_map = IdMap.open(path)
    id_map.store("source:k='old'", KeyKind.SOURCE, "[]", 7, seq=0, digest="d0")
    stuck = threading.Thread(
        target=id_map.begin_create, args=("source:k='new'", KeyKind.SOURCE, "[]", 1, 7)
    )
    with write_locked(path):
        stuck.start()
        time.sleep(0.2)  # the lane is in its commit, waiting for the lock
        assert stuck.is_alive()
        started = time.monotonic()
        # Reads, and a change that needs no statement (the digest is the stored one).
        assert id_map.unchanged("source:k='old'", 7, "d0")
        assert id_map.digest("source:k='old'") == "d0"
        id_map.before_write("source:k='old'", "d0")
        waited = time.monotonic() - started
        time.sleep(BLOCKED_SECONDS)
        assert stuck.is_alive()  # still committing: the calls above did not wait for it
    stuck.join()
    assert waited < BLOCKED_SECONDS / 2
    assert klant_ids(path) == {"source:k='old'": 7, "source:k='new'": None}
    id_map.close()


def test_each_lanes_pending_row_is_on_disk_when_begin_create_returns(tmp_path: Path) -> None:
    path = tmp_path / "id-map.sqlite3"
    id_map = IdMap.open(path)
    before_post: dict[str, dict[str, int | None]] = {}

    def create(name: str, klant_id: int) -> None:
        key = f"source:k='{name}'"
        id_map.begin_create(key, KeyKind.SOURCE, "[]", klant_id, 0)
        before_post[key] = klant_ids(path)  # the POST would be sent now
        id_map.store(key, KeyKind.SOURCE, "[]", klant_id, klant_id)

    lanes = [threading.Thread(target=create, args=(f"k{n}", n)) for n in range(1, 9)]
    with write_locked(path):  # every lane queues its change behind the lock
        for lane in lanes:
            lane.start()
        time.sleep(0.3)
    for lane in lanes:
        lane.join()
    # Pending, or (another lane's later commit took the answer along) already resolved.
    for key, on_disk in before_post.items():
        assert key in on_disk, key
    id_map.commit()
    assert klant_ids(path) == {f"source:k='k{n}'": n for n in range(1, 9)}
    id_map.close()


def on_disk(location: str) -> dict[str, int | None]:
    """The map's rows as another connection reads them: each key's customer (None: pending)."""
    store = locate(location).open_read_only(location, logging.getLogger(__name__))
    assert store is not None
    try:
        resolved = store.query(store.statements[Statement.LOAD])
        pending = store.query(store.statements[Statement.PENDING])
    finally:
        store.close()
    rows: dict[str, int | None] = {str(key): int(str(klant_id)) for key, klant_id, _ in resolved}
    rows.update((str(key), None) for key, *_ in pending)
    return rows


def test_an_answer_is_committed_before_the_next_request_and_by_commit_or_close(
    location: str,
) -> None:
    id_map = IdMap.open(location)
    a, b, c = (f"source:k='{name}'" for name in "abc")
    id_map.begin_create(a, KeyKind.SOURCE, "[]", 1, 0)
    id_map.store(a, KeyKind.SOURCE, "[]", 5, 1, digest="da")
    assert on_disk(location) == {a: None}  # a stop now leaves the create pending
    id_map.outdate_others(5, a)  # a PUT to customer 5 follows: what names it goes first
    assert on_disk(location) == {a: 5}
    id_map.store(b, KeyKind.SOURCE, "[]", 6, 2)
    id_map.begin_create(c, KeyKind.SOURCE, "[]", 3, 6)  # a POST follows
    assert on_disk(location) == {a: 5, b: 6, c: None}
    id_map.store(c, KeyKind.SOURCE, "[]", 7, 3)
    id_map.commit()  # before a STATE
    assert on_disk(location) == {a: 5, b: 6, c: 7}
    id_map.confirm(c, "dc")
    id_map.forget(b)  # committed at once, the confirmed digest with it
    id_map.store(a, KeyKind.SOURCE, "[]", 5, 4, digest="da2")
    id_map.close()  # commits what is still queued
    reread = IdMap.open(location, read_only=True)
    assert (reread.lookup(a), reread.lookup(b), reread.lookup(c)) == (5, None, 7)
    assert (reread.digest(a), reread.digest(c)) == ("da2", "dc")
    reread.close()


def test_queued_changes_are_committed_all_or_none(location: str) -> None:
    store = locate(location).open(location, 0.0, logging.getLogger(__name__))
    upsert, delete = store.statements[Statement.UPSERT], store.statements[Statement.DELETE]

    def row(name: str, klant_id: int | None, kind: str | None = "source") -> tuple[object, ...]:
        return (f"source:k='{name}'", kind, klant_id, "[]", "run", 0, 0.0, None, None)

    store.query_all([(upsert, row("a", 1)), (upsert, row("b", None)), (delete, ("x",))])
    with pytest.raises(store.errors):  # the second one breaks NOT NULL: the first is undone
        store.query_all([(upsert, row("c", 3)), (upsert, row("d", 4, kind=None))])
    keys = store.query(store.statements[Statement.LOAD]) + store.query(
        store.statements[Statement.PENDING]
    )
    assert sorted(str(key) for key, *_ in keys) == ["source:k='a'", "source:k='b'"]
    store.close()


@contextmanager
def writes_blocked(location: str) -> Iterator[None]:
    """Another session keeps the map's rows from being written until the block ends."""
    if not location.startswith("postgresql://"):
        with write_locked(Path(location)):
            yield
        return
    with psycopg.connect(location, autocommit=True) as other, other.transaction():
        other.execute("LOCK TABLE id_map IN SHARE MODE")
        yield


def test_a_commit_failing_with_any_error_stops_every_lane_whose_change_was_in_it(
    location: str,
) -> None:
    """Not only the back end's own errors: sqlite3 raises OverflowError for an id above 2**63
    (a hostile or broken Recras listing such a customer makes it the create's floor). The
    lane that commits the changes queued together raises; every other lane whose change was
    taken with them must raise too, never return as if its pending row were on disk (its POST
    would follow, and a stop before its answer doubles the customer on the rerun).
    """
    id_map = IdMap.open(location)
    returned: list[str] = []

    def create(name: str, floor: int) -> None:
        key = f"source:k='{name}'"
        try:
            id_map.begin_create(key, KeyKind.SOURCE, "[]", 1, floor)
        except Exception:  # which lane gets which error is a race: any may raise
            return
        returned.append(key)

    first = threading.Thread(target=create, args=("first", 0))
    queued = [threading.Thread(target=create, args=args) for args in (("huge", 2**64), ("ok", 0))]
    with writes_blocked(location):
        first.start()  # commits its change alone, behind the lock
        time.sleep(0.2)
        for lane in queued:  # queue theirs: committed together after it
            lane.start()
        time.sleep(0.3)
    for lane in (first, *queued):
        lane.join()
    id_map.close()
    store = locate(location).open(location, 0.0, logging.getLogger(__name__))
    on_disk = {str(key) for key, *_ in store.query(store.statements[Statement.PENDING])}
    store.close()
    assert "source:k='first'" in returned
    assert on_disk >= set(returned), (returned, on_disk)
