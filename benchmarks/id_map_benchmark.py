"""Would one SQLAlchemy Core store run the id map as fast as its two back ends? One run says.

The id map (``target_recras.id_map``) runs its statements through sqlite3 and psycopg
directly. Issue 19 asks whether one SQLAlchemy Core store (SQLAlchemy comes with singer-sdk)
could replace both, if it is shorter and as fast. This measures the hot path, what a run does
per record, on the same rows, for three stores side by side:

* ``current``: the id map's own back ends (``SqliteStore.open``, ``PostgresStore.open``:
  held, WAL and ``synchronous=NORMAL`` on SQLite, autocommit on PostgreSQL) running their
  :class:`~target_recras.id_map._store.Statement` SQL;
* ``core``: SQLAlchemy Core constructs built once (the dialect's ``insert`` with
  ``on_conflict_do_update``, ``update``, ``select``, ``delete`` on a ``Table``), executed on
  one held connection in ``AUTOCOMMIT``, with the same pragmas;
* ``text``: the same connection running ``text()`` statements with named binds (the other
  way to write the SQL once for both databases).

Operations, each committed on its own as in a run: ``upsert`` (a pending create, then the
written row: ``begin_create`` and ``store``), ``set_digest`` (``confirm``), ``load`` (the rows
a run reads at start; lookups are then served from memory), ``pending`` and ``delete``
(``forget``). Times are the best of ``--repeat`` rounds per operation, in µs per statement
(``load``: per row), the stores taking turns in every round; the ratios are against
``current``. PostgreSQL runs on a private cluster on 127.0.0.1 (``scripts/pgcluster.py``, as
the tests use); without PostgreSQL server binaries its part says so. Nothing is asserted.

    .venv/bin/python benchmarks/id_map_benchmark.py [--rows 2000] [--repeat 5] [--no-postgres]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from target_recras.id_map._postgres import PostgresStore
from target_recras.id_map._sqlite import SqliteStore
from target_recras.id_map._store import MapStore, Statement

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from pgcluster import PostgresCluster, PostgresUnavailableError

OPERATIONS = ("upsert", "set_digest", "load", "pending", "delete")
COLUMNS = ("map_key", "kind", "klant_id", "identity", "run_id", "seq", "updated_at", "floor")
LOGGER = logging.getLogger("id_map_benchmark")

METADATA = sa.MetaData()
TABLE = sa.Table(
    "id_map",
    METADATA,
    sa.Column("map_key", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("klant_id", sa.BigInteger),
    sa.Column("identity", sa.Text, nullable=False),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("floor", sa.BigInteger),
    sa.Column("digest", sa.Text),
)


class Contender(Protocol):
    """One way of running the id map's statements."""

    def upsert(self, row: dict[str, Any]) -> None: ...
    def set_digest(self, map_key: str, digest: str | None) -> None: ...
    def load(self) -> list[Any]: ...
    def pending(self) -> list[Any]: ...
    def delete(self, map_key: str) -> None: ...


class Current:
    """The id map's own back end, as :class:`~target_recras.id_map.IdMap` drives it."""

    def __init__(self, store: MapStore) -> None:
        self._query = store.query
        self._sql = store.statements

    def upsert(self, row: dict[str, Any]) -> None:
        self._query(self._sql[Statement.UPSERT], tuple(row.values()))

    def set_digest(self, map_key: str, digest: str | None) -> None:
        self._query(self._sql[Statement.SET_DIGEST], (digest, map_key))

    def load(self) -> list[Any]:
        return self._query(self._sql[Statement.LOAD])

    def pending(self) -> list[Any]:
        return self._query(self._sql[Statement.PENDING])

    def delete(self, map_key: str) -> None:
        self._query(self._sql[Statement.DELETE], (map_key,))


class SqlAlchemy:
    """Statements run by SQLAlchemy on one held ``AUTOCOMMIT`` connection; built once."""

    _upsert: sa.Executable
    _set_digest: sa.Executable
    _load: sa.Executable
    _pending: sa.Executable
    _delete: sa.Executable

    def __init__(self, connection: sa.Connection) -> None:
        self._run = connection.execute

    def upsert(self, row: dict[str, Any]) -> None:
        self._run(self._upsert, row)

    def set_digest(self, map_key: str, digest: str | None) -> None:
        self._run(self._set_digest, {"key": map_key, "digest": digest})

    def load(self) -> list[Any]:
        return list(self._run(self._load).all())

    def pending(self) -> list[Any]:
        return list(self._run(self._pending).all())

    def delete(self, map_key: str) -> None:
        self._run(self._delete, {"key": map_key})


class Core(SqlAlchemy):
    """SQLAlchemy Core constructs on a ``Table`` (the dialect's ``insert`` for the upsert)."""

    def __init__(self, connection: sa.Connection) -> None:
        super().__init__(connection)
        insert = sqlite.insert if connection.dialect.name == "sqlite" else postgresql.insert
        upsert = insert(TABLE)
        self._upsert = upsert.on_conflict_do_update(
            index_elements=[TABLE.c.map_key],
            set_={name: upsert.excluded[name] for name in (*COLUMNS[1:], "digest")},
        )
        key = TABLE.c.map_key == sa.bindparam("key")
        self._set_digest = TABLE.update().where(key).values(digest=sa.bindparam("digest"))
        columns = (TABLE.c.map_key, TABLE.c.klant_id, TABLE.c.digest)
        self._load = sa.select(*columns).where(TABLE.c.klant_id > 0)
        pending = (TABLE.c.map_key, TABLE.c.identity, TABLE.c.floor)
        self._pending = sa.select(*pending).where(TABLE.c.klant_id.is_(None)).order_by("seq")
        self._delete = TABLE.delete().where(key)


class Text(SqlAlchemy):
    """SQLAlchemy ``text()`` with named binds: one SQL text for both databases."""

    def __init__(self, connection: sa.Connection) -> None:
        super().__init__(connection)
        names = (*COLUMNS, "digest")
        self._upsert = sa.text(
            f"INSERT INTO id_map ({', '.join(names)}) VALUES "
            f"({', '.join(':' + name for name in names)}) ON CONFLICT (map_key) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in names[1:])
        )
        self._set_digest = sa.text("UPDATE id_map SET digest = :digest WHERE map_key = :key")
        self._load = sa.text(Statement.LOAD.value)
        self._pending = sa.text(Statement.PENDING.value)
        self._delete = sa.text("DELETE FROM id_map WHERE map_key = :key")


def one_round(contender: Contender, rows: int) -> dict[str, float]:
    """Seconds per statement of each operation (``load``: per row); leaves the table empty."""
    keys = [f"source:external_id='CRM-{n}'" for n in range(rows)]
    upserts = []
    for seq, key in enumerate(keys):
        row = dict(zip(COLUMNS, (key, "source", None, "[]", "run", seq, 1.0, 41), strict=True))
        upserts.append(({**row, "digest": None},))  # begin_create: pending
        upserts.append(({**row, "klant_id": 1000 + seq, "floor": None, "digest": "d0"},))
    loads = max(1, 20_000 // rows)  # enough rows read for a stable figure
    times: dict[str, float] = {}

    def timed(name: str, action: Callable[..., object], calls: list[tuple[Any, ...]]) -> None:
        started = time.perf_counter()
        for arguments in calls:
            action(*arguments)
        seconds = time.perf_counter() - started
        times[name] = seconds / (len(calls) * (rows if name == "load" else 1))

    timed("upsert", contender.upsert, upserts)
    timed("set_digest", contender.set_digest, [(key, "d1") for key in keys])
    timed("load", contender.load, [()] * loads)
    timed("pending", contender.pending, [()] * 100)
    timed("delete", contender.delete, [(key,) for key in keys])
    return times


Best = dict[str, dict[str, float]]


def compare(contenders: dict[str, Contender], rows: int, repeat: int) -> Best:
    """Best seconds per operation and contender over ``repeat`` rounds taken in turns."""
    best = {name: dict.fromkeys(OPERATIONS, float("inf")) for name in contenders}
    for _ in range(repeat):
        for name, contender in contenders.items():
            for operation, seconds in one_round(contender, rows).items():
                best[name][operation] = min(best[name][operation], seconds)
    return best


def report(title: str, best: Best) -> None:
    """One line per operation: µs per statement for each store and the ratio to ``current``."""
    print(f"\n{title} (µs per statement; load: per row)")
    others = [name for name in best if name != "current"]
    header = f"{'operation':<11}{'current':>9}"
    for name in others:
        header += f"{name:>9}{name + '/current':>15}"
    print(header)
    for operation in OPERATIONS:
        base = best["current"][operation]
        line = f"{operation:<11}{base * 1e6:>9.2f}"
        for name in others:
            seconds = best[name][operation]
            line += f"{seconds * 1e6:>9.2f}{seconds / base:>14.2f}x"
        print(line)


@contextmanager
def sqlite_contenders(folder: Path) -> Iterator[dict[str, Contender]]:
    """The three stores on three map files, the current one held as in a run."""
    with ExitStack() as stack:
        store = SqliteStore.open(str(folder / "current.sqlite3"), 0, LOGGER)
        stack.callback(store.close)
        contenders: dict[str, Contender] = {"current": Current(store)}
        for name, kind in (("core", Core), ("text", Text)):
            engine = sa.create_engine(f"sqlite:///{folder / name}.sqlite3")
            stack.callback(engine.dispose)
            connection = stack.enter_context(engine.connect())
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            METADATA.create_all(connection)
            contenders[name] = kind(connection)
        yield contenders


@contextmanager
def postgres_contenders(cluster: PostgresCluster) -> Iterator[dict[str, Contender]]:
    """The three stores, each in its own schema of one database on ``cluster``."""
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/{cluster.database}"
    cluster.psql("CREATE SCHEMA current_store; CREATE SCHEMA core; CREATE SCHEMA text")
    with ExitStack() as stack:
        store = PostgresStore.open(f"{url}?options=-csearch_path%3Dcurrent_store", 0, LOGGER)
        stack.callback(store.close)
        contenders: dict[str, Contender] = {"current": Current(store)}
        for name, kind in (("core", Core), ("text", Text)):
            engine = sa.create_engine(
                url.replace("postgresql://", "postgresql+psycopg://"),
                connect_args={"options": f"-csearch_path={name}"},
                isolation_level="AUTOCOMMIT",
            )
            stack.callback(engine.dispose)
            connection = stack.enter_context(engine.connect())
            METADATA.create_all(connection)
            contenders[name] = kind(connection)
        yield contenders


def main() -> None:
    """Measure on SQLite, then on PostgreSQL, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="map entries per round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best counts")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    print(f"SQLAlchemy {sa.__version__}; {args.rows:,} rows, best of {args.repeat} rounds")
    with tempfile.TemporaryDirectory() as folder, sqlite_contenders(Path(folder)) as contenders:
        report("SQLite", compare(contenders, args.rows, args.repeat))
    if args.no_postgres:
        return
    try:
        cluster = PostgresCluster()
    except PostgresUnavailableError as exc:
        print(f"\nPostgreSQL: not measured ({exc})")
        return
    with cluster, postgres_contenders(cluster) as contenders:
        report("PostgreSQL", compare(contenders, args.rows, args.repeat))


if __name__ == "__main__":
    main()
