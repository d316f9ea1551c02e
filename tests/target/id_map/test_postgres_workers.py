"""Workers on one PostgreSQL id map (``id_map_url: postgresql://...``), as on several machines.

Real ``target-recras`` processes, each in a working directory of its own (no local id map:
none is configured, and none may appear), against one sandbox with ``merge="never"`` so that
any duplicate shows, and one private PostgreSQL cluster (``scripts/pgcluster.py``) for the
module; every test gets a database of its own. The URL carries a password (the cluster
trusts 127.0.0.1, so any password connects): it must never show in an output.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from pgcluster import PostgresCluster, free_port
from support.target import SECRET_KEY, customer, singer_input, start_target, states

from target_recras.id_map import IdMap, IdMapError, KeyKind

pytestmark = pytest.mark.timeout(120)

PG_PASSWORD = "pg-SECRET-5e2a-never-log"
_databases = count(1)


@pytest.fixture
def map_url(pg_cluster: PostgresCluster) -> str:
    """A fresh database for this test's id map, as the URL a worker is configured with."""
    database = f"idmap_{next(_databases)}"
    pg_cluster.psql(f"CREATE DATABASE {database}", database="postgres")
    return f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{pg_cluster.port}/{database}"


def _shown(url: str) -> str:
    """How errors name the map: the URL without its credentials."""
    return url.replace(f"postgres:{PG_PASSWORD}@", "")


def _worker(directory: Path, config: dict[str, Any]) -> subprocess.Popen[str]:
    """A target-recras process in ``directory`` (its config there too)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(config))
    return start_target(path, cwd=directory)


def _run(directory: Path, config: dict[str, Any], text: str) -> tuple[int, str, str]:
    worker = _worker(directory, config)
    stdout, stderr = worker.communicate(text, timeout=60)
    assert PG_PASSWORD not in stdout + stderr and SECRET_KEY not in stdout + stderr
    return worker.returncode, stdout, stderr


def _summary(stderr: str) -> str:
    return stderr.rsplit("Summary: ", maxsplit=1)[-1].splitlines()[0]


def _counts(read: int, *, created: int, updated: int = 0, unchanged: int = 0) -> str:
    return (
        f"{read} records read: {created} created, 0 merged, {updated} updated, "
        f"{unchanged} unchanged (skipped)"
    )


def _assert_no_local_map(*directories: Path) -> None:
    for directory in directories:
        assert not list(directory.glob("*.sqlite3*")), f"a local id map in {directory}"


def _read_lines(stream: Any, into: list[str], seen: threading.Event, text: str) -> None:
    """Collect ``stream``'s lines into ``into``; set ``seen`` at the first that holds ``text``."""
    for line in stream:
        into.append(line)
        if text in line:
            seen.set()


@pytest.mark.slow
def test_two_workers_share_the_map_and_a_fresh_worker_updates(
    sandbox_factory: Any, map_url: str, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, latency_ms=20, merge="never")
    config = {**sandbox.config(), "id_map_url": map_url, "max_workers": 2}
    total = 30
    text = singer_input([customer(n) for n in range(total)], state_every=10)
    lines = text.splitlines(keepends=True)
    # The first worker holds the map from its first record until its input ends: the second,
    # given the same input meanwhile, must wait for it (whatever the machine's speed).
    first, second = (_worker(tmp_path / name, config) for name in ("a", "b"))
    assert first.stdin is not None and second.stdin is not None
    first.stdin.write("".join(lines[:5]))
    first.stdin.flush()
    deadline = time.monotonic() + 60
    while not sandbox.customers() and time.monotonic() < deadline:
        time.sleep(0.05)
    in_use = f"The id map {_shown(map_url)} is in use"
    waiting = threading.Event()
    second_out: list[str] = []
    second_err: list[str] = []
    readers = [
        threading.Thread(target=lambda: second_out.extend(second.stdout or ())),
        threading.Thread(target=_read_lines, args=(second.stderr, second_err, waiting, in_use)),
    ]
    for reader in readers:
        reader.start()
    second.stdin.write(text)
    second.stdin.close()
    assert waiting.wait(60), "the second worker did not wait for the map"
    first_out, first_err = first.communicate("".join(lines[5:]), timeout=60)
    second.wait(timeout=60)
    for reader in readers:
        reader.join(timeout=60)
    outputs = [(first_out, first_err), ("".join(second_out), "".join(second_err))]
    for worker, (stdout, stderr) in zip((first, second), outputs, strict=True):
        assert worker.returncode == 0, stderr
        assert states(stdout)[-1] == {"done": total}
        assert PG_PASSWORD not in stdout + stderr
    expected = Counter(f"Klant {n}" for n in range(total))
    assert Counter(item["naam"] for item in sandbox.customers()) == expected
    # The second worker finds every record written by the first: unchanged, skipped.
    assert _summary(first_err).split(", 0 recreated")[0] == _counts(total, created=total)
    assert _summary(outputs[1][1]).split(", 0 recreated")[0] == _counts(
        total, created=0, unchanged=total
    )

    # A worker with nothing local at all (a fresh container) updates every customer.
    code, stdout, stderr = _run(tmp_path / "fresh", {**config, "skip_unchanged": False}, text)
    assert code == 0, stderr
    assert _summary(stderr).startswith(_counts(total, created=0, updated=total))
    assert Counter(item["naam"] for item in sandbox.customers()) == expected
    _assert_no_local_map(tmp_path / "a", tmp_path / "b", tmp_path / "fresh")


@pytest.mark.slow
def test_a_killed_worker_rerun_from_elsewhere_loses_and_doubles_nothing(
    pg_cluster: PostgresCluster, sandbox_factory: Any, map_url: str, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, latency_ms=60, merge="never")
    config = {**sandbox.config(), "id_map_url": map_url, "max_workers": 4}
    total = 40
    text = singer_input([customer(n) for n in range(total)], state_every=5)
    worker = _worker(tmp_path / "killed", config)
    assert worker.stdin is not None
    worker.stdin.write(text)
    worker.stdin.flush()
    deadline = time.monotonic() + 30
    while len(sandbox.customers()) < 10:  # mid-run: some customers written, most not
        assert time.monotonic() < deadline and worker.poll() is None, "the worker never wrote"
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    written = len(sandbox.customers())
    assert 0 < written < total, written
    in_flight = pg_cluster.psql(
        "SELECT count(*) FROM id_map WHERE klant_id IS NULL", database=map_url.rsplit("/", 1)[1]
    )
    assert int(in_flight) > 0, "the kill left no pending create to resolve"

    # Rerun on another machine: the lock died with the killed session; pending creates
    # are looked up, not sent again.
    code, _, stderr = _run(tmp_path / "rerun", {**config, "id_map_lock_timeout": 10}, text)
    assert code == 0, stderr
    assert "were in flight when the previous run stopped" in stderr
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(f"Klant {n}" for n in range(total)), "lost or doubled"
    _assert_no_local_map(tmp_path / "killed", tmp_path / "rerun")


@pytest.mark.slow
def test_a_second_worker_stops_after_its_wait_naming_the_map_and_holder(
    sandbox_factory: Any, map_url: str, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY)
    config = {**sandbox.config(), "id_map_url": map_url}
    first = _worker(tmp_path / "first", config)
    assert first.stdin is not None
    first.stdin.write(singer_input([customer(1)]))  # stdin stays open: the run goes on
    first.stdin.flush()
    deadline = time.monotonic() + 20
    while not sandbox.customers():  # the first worker holds the map once it writes
        assert time.monotonic() < deadline and first.poll() is None, "the first run never wrote"
        time.sleep(0.05)
    try:
        started = time.monotonic()
        code, _, stderr = _run(
            tmp_path / "second", {**config, "id_map_lock_timeout": 1.5}, singer_input([])
        )
        waited = time.monotonic() - started
    finally:
        _, first_stderr = first.communicate("", timeout=30)
    assert code == 1 and "Traceback" not in stderr
    assert 1.5 <= waited < 15
    assert f"The id map {_shown(map_url)} is in use by another target-recras run (pid " in stderr
    holder = f"on host 127.0.0.1 (target-recras pid {first.pid} on {socket.gethostname()}), since"
    assert holder in stderr
    assert "waited 1.5 s (id_map_lock_timeout)" in stderr
    assert first.returncode == 0, first_stderr
    assert [item["naam"] for item in sandbox.customers()] == ["Klant 1"]


def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    config = {"base_url": "https://127.0.0.1:9", "api_key": SECRET_KEY, "id_map_url": url}
    code, _, stderr = _run(tmp_path / "w", config, singer_input([customer(1)]))
    assert code == 1 and "Traceback" not in stderr
    assert f"The id map {_shown(url)} cannot be opened: connection failed" in stderr
    assert "check that the PostgreSQL server is reachable" in stderr


@pytest.mark.slow
def test_a_newer_schema_version_is_refused(
    pg_cluster: PostgresCluster, map_url: str, tmp_path: Path
) -> None:
    database = map_url.rsplit("/", 1)[1]
    pg_cluster.psql(
        "CREATE TABLE id_map_version (version integer NOT NULL);"
        "INSERT INTO id_map_version VALUES (99);",
        database=database,
    )
    config = {"base_url": "https://127.0.0.1:9", "api_key": SECRET_KEY, "id_map_url": map_url}
    code, _, stderr = _run(tmp_path / "w", config, singer_input([customer(1)]))
    assert code == 1 and "Traceback" not in stderr
    assert (
        f"The id map {_shown(map_url)} has schema version 99, newer than this target-recras "
        "knows (2)"
    ) in stderr


def test_pending_creates_keep_their_floor_and_every_committed_change_survives(
    pg_cluster: PostgresCluster, map_url: str
) -> None:
    first = IdMap.open(map_url)
    first.store("source:k='1'", KeyKind.SOURCE, '["A", "a@x"]', 7, seq=1)
    # Committed before its POST, with the answer queued before it.
    first.begin_create("source:k='2'", KeyKind.SOURCE, '["B", "b@x"]', seq=2, floor=7)
    first.store("natural:x", KeyKind.NATURAL, '["C", "c@x"]', 9, seq=3)
    first.commit()  # as before a STATE is emitted
    first.store("source:k='4'", KeyKind.SOURCE, '["D", "d@x"]', 11, seq=4)  # queued only
    # The session dies without a close (as with a killed worker): the committed rows stay,
    # the lock goes, and so does the answer still queued (its create was pending before).
    pg_cluster.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name LIKE 'target-recras pid %' AND pid <> pg_backend_pid()",
        database=map_url.rsplit("/", 1)[1],
    )
    second = IdMap.open(map_url, lock_timeout=5)
    assert second.lookup("source:k='1'") == 7
    assert second.mapped_ids() == {7, 9}
    assert second.lookup("source:k='4'") is None
    pending = second.pending()
    assert [(p.map_key, p.identity, p.floor) for p in pending] == [
        ("source:k='2'", '["B", "b@x"]', 7)
    ]
    second.resolve("source:k='2'", 8)
    second.prune_natural(0, earlier_runs=True)
    second.close()
    third = IdMap.open(map_url, read_only=True)
    assert (third.lookup("source:k='2'"), third.lookup("natural:x")) == (8, None)
    assert third.pending() == []
    third.close()
    first.close()  # its session is gone: closing logs at most, never raises


def test_a_schema_per_configuration_is_a_map_of_its_own(
    pg_cluster: PostgresCluster, map_url: str
) -> None:
    pg_cluster.psql("CREATE SCHEMA amsterdam", database=map_url.rsplit("/", 1)[1])
    default = IdMap.open(map_url)
    default.store("source:k='1'", KeyKind.SOURCE, '["A", "a@x"]', 7, seq=1)
    # Held at once: each schema's map has a lock of its own.
    amsterdam = IdMap.open(f"{map_url}?options=-csearch_path%3Damsterdam", lock_timeout=0)
    assert amsterdam.lookup("source:k='1'") is None
    amsterdam.store("source:k='1'", KeyKind.SOURCE, '["A", "a@x"]', 70, seq=1)
    amsterdam.close()
    default.close()
    reread = IdMap.open(map_url, read_only=True)
    assert reread.lookup("source:k='1'") == 7
    reread.close()
    rows = pg_cluster.psql(
        "SELECT klant_id FROM amsterdam.id_map", database=map_url.rsplit("/", 1)[1]
    )
    assert rows.split() == ["70"]
    with pytest.raises(IdMapError, match="has no schema to live in"):
        IdMap.open(f"{map_url}?options=-csearch_path%3Dutrecht")


def test_a_dry_run_reads_the_map_and_creates_nothing(
    pg_cluster: PostgresCluster, map_url: str
) -> None:
    database = map_url.rsplit("/", 1)[1]
    empty = IdMap.open(map_url, read_only=True)  # no map yet: nothing known, nothing created
    assert empty.lookup("source:k='1'") is None and empty.pending() == []
    empty.close()
    assert (
        pg_cluster.psql(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'id_map%'", database=database
        ).strip()
        == "0"
    )
    writer = IdMap.open(map_url)
    writer.store("source:k='1'", KeyKind.SOURCE, '["A", "a@x"]', 7, seq=1)
    writer.commit()  # a dry run reads what is committed
    reader = IdMap.open(map_url, read_only=True, lock_timeout=0)  # not held: no wait
    assert reader.lookup("source:k='1'") == 7
    reader.forget("source:k='1'")  # a read-only map writes nothing
    reader.close()
    writer.close()
    assert pg_cluster.psql("SELECT klant_id FROM id_map", database=database).split() == ["7"]
