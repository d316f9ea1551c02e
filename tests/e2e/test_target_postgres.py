"""tap-recras into MeltanoLabs' target-postgres, the warehouse most Meltano users run.

The real ``.venv/bin/tap-recras`` is piped into the real ``target-postgres`` executable
(``meltanolabs-target-postgres`` in its own virtual environment,
``.meltano/loaders/target-postgres/venv``, installed by ``scripts/install_meltano.sh``), and
through ``meltano run`` with the jobs ``meltano.yml`` ships, against the recras-sandbox and a
private PostgreSQL cluster on 127.0.0.1 (``scripts/pgcluster.py``). One cluster serves the
module; every test gets a database and a sandbox of its own. Nothing is skipped: a missing
plugin or PostgreSQL fails with the reason.

The last test is issue 21's "done when": every stream, through the hourly and nightly jobs of
``meltano.yml``, under two sandbox readings that together cover every alternative the vendor
notes leave open.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import recras_demo
from pgcluster import PostgresCluster
from recras_demo import Meltano, Workspace
from support.fault_proxy import Fault, FaultProxy, Rule
from support.meltano import HOURLY_STREAMS, REFERENCE_TABLES
from support.paths import ROOT
from support.sandbox import EVERY_READING

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import make_catalog, parse_messages, tap_command, tap_env, write_inputs

# xdist_group: one worker runs every file that runs Meltano (see scripts/test.sh).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.meltano,
    pytest.mark.postgres,
    pytest.mark.timeout(600),
    pytest.mark.xdist_group("meltano"),
    pytest.mark.usefixtures("bytecode_cache"),
]

TARGET_POSTGRES = (
    ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"
)
TAP_RECRAS_PLUGIN = ROOT / ".meltano" / "extractors" / "tap-recras" / "venv" / "bin" / "tap-recras"
SCHEMA = "recras"
CUSTOMERS = 30
PIPE_TIMEOUT = 240
_databases = count(1)


@pytest.fixture(scope="module")
def plugins_installed() -> None:
    """target-postgres and tap-recras as Meltano plugins (installed only when missing)."""
    if TARGET_POSTGRES.exists() and TAP_RECRAS_PLUGIN.exists() and recras_demo.MELTANO.exists():
        return
    proc = subprocess.run(
        [str(ROOT / "scripts" / "install_meltano.sh"), "tap-recras", "target-postgres"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.returncode == 0, f"install_meltano.sh failed:\n{proc.stdout}\n{proc.stderr}"
    assert TARGET_POSTGRES.exists(), f"{TARGET_POSTGRES} missing after install_meltano.sh"


@pytest.fixture(scope="module")
def cluster(plugins_installed: None) -> Iterator[PostgresCluster]:
    with PostgresCluster() as pg:
        yield pg


@pytest.fixture(scope="module")
def catalogs() -> Iterator[dict[str, dict[str, Any]]]:
    """The tap's discovered catalog, as is (incremental) and asking FULL_TABLE, made once."""
    with SandboxProcess(customers=1) as box:
        config = box.config()
        yield {
            "incremental": make_catalog(config),
            "full_table": make_catalog(config, full_table="metadata"),
        }


@dataclass
class Warehouse:
    """One database of the module's cluster, as target-postgres sees it."""

    pg: PostgresCluster
    database: str

    def target_config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "host": self.pg.host,
            "port": self.pg.port,
            "user": self.pg.user,
            "password": "unused-trust-auth",
            "database": self.database,
            "default_target_schema": SCHEMA,
            **overrides,
        }

    def env(self) -> dict[str, str]:
        """The WAREHOUSE_PG_* variables meltano.yml reads for target-postgres."""
        return {
            "WAREHOUSE_PG_HOST": self.pg.host,
            "WAREHOUSE_PG_PORT": str(self.pg.port),
            "WAREHOUSE_PG_USER": self.pg.user,
            "WAREHOUSE_PG_PASSWORD": "unused-trust-auth",
            "WAREHOUSE_PG_DATABASE": self.database,
        }

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows of a query, as dicts (through json_agg: psql prints one JSON array).

        Numbers with a fraction come back as Decimal, with the digits PostgreSQL holds.
        """
        out = self.pg.psql(
            f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q", database=self.database
        )
        result: list[dict[str, Any]] = json.loads(out, parse_float=Decimal)
        return result

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.rows(f"SELECT * FROM {SCHEMA}.{name}")

    def numeric_columns(self) -> set[tuple[str, str]]:
        """(table, column) of every column of type numeric (target-postgres's for number)."""
        rows = self.rows(
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE data_type = 'numeric' AND table_schema = '{SCHEMA}'"
        )
        return {(row["table_name"], row["column_name"]) for row in rows}

    def klanten(self) -> list[dict[str, Any]]:
        return self.rows(
            f"SELECT id, _sdc_deleted_at, _sdc_extracted_at FROM {SCHEMA}.klanten ORDER BY id"
        )

    def links(self) -> list[dict[str, Any]]:
        return self.rows(
            f"SELECT klant_id, id, hoofdcontact, _sdc_deleted_at FROM {SCHEMA}.contactpersonen "
            "ORDER BY klant_id, id"
        )


@pytest.fixture
def warehouse(cluster: PostgresCluster) -> Warehouse:
    name = f"warehouse_{next(_databases)}"
    cluster.psql(f"CREATE DATABASE {name}", database="postgres")
    return Warehouse(cluster, name)


@dataclass
class PipeRun:
    """One ``tap-recras | target-postgres`` run."""

    tap_messages: list[dict[str, Any]]
    #: The STATE values target-postgres emitted (after writing), last one last.
    states: list[dict[str, Any]]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.tap_messages
            if m["type"] == "RECORD" and m["stream"] == stream
        ]


def pipe(
    workdir: Path,
    box: SandboxProcess,
    warehouse: Warehouse,
    catalog: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    tap_config: dict[str, Any] | None = None,
    tap_exit: int = 0,
    during: Callable[[subprocess.Popen[bytes]], None] | None = None,
    **target_settings: Any,
) -> PipeRun:
    """Pipe the real tap into the real target-postgres (through ``tee``, to keep a copy).

    ``tap_config`` replaces the sandbox's config (a fault proxy in front of it, say);
    ``tap_exit`` is the exit code the tap must end with; ``during`` gets the tap process
    once everything runs (to stop it, say).
    """
    workdir.mkdir(parents=True)
    config = tap_config if tap_config is not None else box.config()
    tap_args = [*tap_command(), *write_inputs(workdir, config, catalog, state)]
    target_config = workdir / "target.json"
    target_config.write_text(json.dumps(warehouse.target_config(**target_settings)))
    copy = workdir / "tap.jsonl"
    with (
        (workdir / "tap.log").open("w") as tap_log,
        (workdir / "target.log").open("w") as target_log,
    ):
        tap = subprocess.Popen(
            tap_args, stdout=subprocess.PIPE, stderr=tap_log, env=tap_env("INFO")
        )
        assert tap.stdout is not None
        tee = subprocess.Popen(["tee", str(copy)], stdin=tap.stdout, stdout=subprocess.PIPE)
        tap.stdout.close()
        assert tee.stdout is not None
        target = subprocess.Popen(
            [str(TARGET_POSTGRES), "--config", str(target_config)],
            stdin=tee.stdout,
            stdout=subprocess.PIPE,
            stderr=target_log,
            text=True,
        )
        tee.stdout.close()
        try:
            if during is not None:
                during(tap)
            out, _ = target.communicate(timeout=PIPE_TIMEOUT)
            codes = (tap.wait(timeout=30), tee.wait(timeout=30), target.returncode)
        finally:
            for process in (tap, tee, target):
                if process.poll() is None:
                    process.kill()
                    process.wait()
    logs = {name: (workdir / f"{name}.log").read_text()[-3000:] for name in ("tap", "target")}
    assert codes == (tap_exit, 0, 0), f"tap, tee, target exit codes {codes}:\n{logs}"
    # A Singer target writes each state it has committed as one JSON line of its own.
    states = [json.loads(line) for line in out.splitlines() if line.strip()]
    return PipeRun(parse_messages(copy.read_text()), states)


def links_of(customers: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """Every (klant_id, person id) pair the sandbox holds."""
    return {(c["id"], p["id"]) for c in customers for p in c["contactpersonen"]}


def shared_main_contact(customers: list[dict[str, Any]]) -> tuple[dict[str, Any], int, int]:
    """A customer whose main contact is also linked to another customer; (it, person, other)."""
    holders: dict[int, list[int]] = {}
    for customer in customers:
        for person in customer["contactpersonen"]:
            holders.setdefault(person["id"], []).append(customer["id"])
    for customer in customers:
        main = customer["contactpersonen"][0]["id"]
        others = [cid for cid in holders[main] if cid != customer["id"]]
        if others:
            return customer, main, others[0]
    pytest.fail("the seed has no person shared by two customers")


def test_full_sync_keeps_every_customer_and_every_link(
    sandbox_factory: Any, warehouse: Warehouse, catalogs: Any, tmp_path: Path
) -> None:
    box = sandbox_factory(customers=CUSTOMERS, seed=3)
    truth = box.customers()
    run = pipe(tmp_path / "run", box, warehouse, catalogs["incremental"])

    assert [row["id"] for row in warehouse.klanten()] == [c["id"] for c in truth]
    rows = warehouse.links()
    # A person linked to two customers is two rows: rows are links, not distinct persons.
    assert len(rows) == len(run.records("contactpersonen")) == len(links_of(truth))
    assert {(r["klant_id"], r["id"]) for r in rows} == links_of(truth)
    assert len({r["id"] for r in rows}) < len(rows)
    mains = {(r["klant_id"], r["id"]) for r in rows if r["hoofdcontact"]}
    assert mains == {(c["id"], c["contactpersonen"][0]["id"]) for c in truth}
    assert all(r["_sdc_deleted_at"] is None for r in rows)


def test_incremental_run_brings_only_the_new_customers(
    sandbox_factory: Any, warehouse: Warehouse, catalogs: Any, tmp_path: Path
) -> None:
    box = sandbox_factory(customers=CUSTOMERS, seed=4)
    first = pipe(tmp_path / "first", box, warehouse, catalogs["incremental"])
    assert first.states, "target-postgres emitted no STATE"
    before = {row["id"]: row for row in warehouse.klanten()}
    added = box.add_customers(6)

    second = pipe(
        tmp_path / "second", box, warehouse, catalogs["incremental"], state=first.states[-1]
    )

    assert [r["id"] for r in second.records("klanten")] == added
    assert {r["klant_id"] for r in second.records("contactpersonen")} == set(added)
    after = {row["id"]: row for row in warehouse.klanten()}
    assert sorted(after) == sorted([*before, *added])
    # The rows of the first run were not written again.
    assert all(
        after[cid]["_sdc_extracted_at"] == row["_sdc_extracted_at"] for cid, row in before.items()
    )
    assert {(r["klant_id"], r["id"]) for r in warehouse.links()} == links_of(box.customers())


@pytest.mark.parametrize("hard_delete", [False, True], ids=["soft-delete", "hard-delete"])
def test_full_table_after_a_deletion(
    sandbox_factory: Any,
    warehouse: Warehouse,
    catalogs: Any,
    tmp_path: Path,
    hard_delete: bool,
) -> None:
    box = sandbox_factory(customers=CUSTOMERS, seed=5)
    truth = box.customers()
    victim, shared_person, other = shared_main_contact(truth)
    pipe(tmp_path / "first", box, warehouse, catalogs["full_table"], hard_delete=hard_delete)
    assert len(warehouse.links()) == len(links_of(truth))

    box.delete_customer(victim["id"])
    second = pipe(
        tmp_path / "second", box, warehouse, catalogs["full_table"], hard_delete=hard_delete
    )

    assert victim["id"] not in [r["id"] for r in second.records("klanten")]
    klanten = warehouse.klanten()
    links = warehouse.links()
    remaining = links_of(box.customers())
    gone = links_of([victim])
    # The shared person stays linked to the other customer.
    assert (other, shared_person) in remaining
    live_links = {(r["klant_id"], r["id"]) for r in links if r["_sdc_deleted_at"] is None}
    assert live_links == remaining
    assert [r["id"] for r in klanten if r["_sdc_deleted_at"] is None] == [
        c["id"] for c in truth if c is not victim
    ]
    deleted_rows = {r["id"] for r in klanten if r["_sdc_deleted_at"] is not None}
    deleted_links = {(r["klant_id"], r["id"]) for r in links if r["_sdc_deleted_at"] is not None}
    if hard_delete:
        assert victim["id"] not in [r["id"] for r in klanten]
        assert deleted_rows == set()
        assert deleted_links == set()
        assert {(r["klant_id"], r["id"]) for r in links} == remaining
    else:
        assert deleted_rows == {victim["id"]}
        assert deleted_links == gone
        assert len(links) == len(links_of(truth))


@pytest.mark.parametrize("lasting", [False, True], ids=["one-off-404", "lasting-404"])
def test_full_table_with_a_detail_404_drops_no_existing_customer(
    sandbox_factory: Any, warehouse: Warehouse, catalogs: Any, tmp_path: Path, lasting: bool
) -> None:
    """A customer listed but whose detail answers 404 must not be soft-deleted for it."""
    box = sandbox_factory(customers=CUSTOMERS, seed=7)
    truth = box.customers()
    pipe(tmp_path / "first", box, warehouse, catalogs["full_table"])
    victim = truth[3]
    rule = Rule(
        "GET",
        f"/api2/klanten/{victim['id']}",
        nth=None if lasting else 1,
        fault=Fault.before_status(404),
    )
    with FaultProxy(box.base_url, rules=[rule]) as proxy:
        second = pipe(
            tmp_path / "second",
            box,
            warehouse,
            catalogs["full_table"],
            tap_config=box.config(base_url=proxy.base_url),
            tap_exit=1 if lasting else 0,
        )

    sent = {r["id"] for r in second.records("klanten")}
    assert (victim["id"] in sent) is not lasting
    klanten = warehouse.klanten()
    assert [r["id"] for r in klanten if r["_sdc_deleted_at"] is None] == [c["id"] for c in truth]
    live = {(r["klant_id"], r["id"]) for r in warehouse.links() if r["_sdc_deleted_at"] is None}
    assert live == links_of(truth)


def test_full_table_run_stopped_midway_drops_no_existing_customer(
    sandbox_factory: Any, warehouse: Warehouse, catalogs: Any, tmp_path: Path
) -> None:
    """A nightly run stopped by SIGTERM half-way: the customers it did not send yet stay."""
    box = sandbox_factory(customers=CUSTOMERS, seed=8)
    truth = box.customers()
    pipe(tmp_path / "first", box, warehouse, catalogs["full_table"])
    box.set_faults(latency_ms=40)
    box.reset_stats()

    def stop_half_way(tap: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while box.stats()["requests"].get("GET /api2/klanten/{id}", 0) < CUSTOMERS // 2:
            assert time.monotonic() < deadline and tap.poll() is None, "the tap never got there"
            time.sleep(0.02)
        tap.send_signal(signal.SIGTERM)

    second = pipe(
        tmp_path / "second",
        box,
        warehouse,
        catalogs["full_table"],
        tap_exit=143,
        during=stop_half_way,
    )

    assert 0 < len(second.records("klanten")) < CUSTOMERS
    klanten = warehouse.klanten()
    assert [r["id"] for r in klanten if r["_sdc_deleted_at"] is None] == [c["id"] for c in truth]
    live = {(r["klant_id"], r["id"]) for r in warehouse.links() if r["_sdc_deleted_at"] is None}
    assert live == links_of(truth)


# -- issue 21: every stream through the hourly and nightly jobs ---------------------------

BOOKINGS = 40
#: The hourly job's look-back, set here (not the default) to see the setting reach the tap.
LOOKBACK_DAYS = 20
KEYS = {
    "contactpersonen": ("klant_id", "id"),
    "boekingsregels": ("boeking_id", "id"),
    "betalingen": ("factuur_id", "id"),
}
#: The Meltano state of the hourly job's task in environment dev.
HOURLY_STATE_ID = "dev:tap-recras-to-target-postgres"
#: A money value as Recras may send it under the reading money=strings.
MONEY_STRING = re.compile(r"-?\d+\.\d+")

Key = tuple[Any, ...]


def key_of(table: str, row: dict[str, Any]) -> Key:
    return tuple(row[name] for name in KEYS.get(table, ("id",)))


def keys(table: str, rows: Iterable[dict[str, Any]]) -> set[Key]:
    return {key_of(table, row) for row in rows}


@dataclass
class Truth:
    """What the sandbox holds, per table, keyed as the warehouse keys it."""

    rows: dict[str, list[dict[str, Any]]]

    @classmethod
    def of(cls, box: SandboxProcess) -> Truth:
        customers = box.customers()
        rows = {
            "klanten": customers,
            "contactpersonen": [
                {**person, "klant_id": customer["id"]}
                for customer in customers
                for person in customer["contactpersonen"]
            ],
        }
        for table in (*HOURLY_STREAMS[2:], *REFERENCE_TABLES):
            rows[table] = box.rows(table)
        return cls(rows)

    def keys(self, table: str) -> set[Key]:
        return keys(table, self.rows[table])

    def invoice_dates(self) -> dict[int, dt.date | None]:
        return {
            invoice["id"]: dt.date.fromisoformat(invoice["datum"]) if invoice["datum"] else None
            for invoice in self.rows["facturen"]
        }

    def invoices_from(self, first: dt.date) -> set[int]:
        """Invoices dated ``first`` or later (concept invoices have no date)."""
        return {i for i, datum in self.invoice_dates().items() if datum and datum >= first}

    def oldest_sent_invoice(self) -> int:
        """The oldest invoice with status ``verzonden`` (sent, not paid)."""
        sent = [row for row in self.rows["facturen"] if row["status"] == "verzonden"]
        oldest: int = min(sent, key=lambda row: str(row["datum"]))["id"]
        return oldest

    def of_invoices(self, table: str, invoices: set[int]) -> set[Key]:
        """Keys of the rows of ``table`` (payments, lines) belonging to ``invoices``."""
        return keys(table, (row for row in self.rows[table] if row["factuur_id"] in invoices))


def assert_tables_match(warehouse: Warehouse, truth: Truth, tables: Iterable[str]) -> None:
    """Every table holds exactly the sandbox's rows (live ones), money to the last digit."""
    numeric = warehouse.numeric_columns()
    for table in tables:
        stored = {key_of(table, row): row for row in warehouse.table(table)}
        live = {key for key, row in stored.items() if row["_sdc_deleted_at"] is None}
        assert live == truth.keys(table), table
        for row in truth.rows[table]:
            for name, value in row.items():
                if isinstance(value, float) or (
                    isinstance(value, str) and MONEY_STRING.fullmatch(value)
                ):
                    assert (table, name) in numeric, f"{table}.{name} is not numeric"
                    found = stored[key_of(table, row)][name]
                    assert found == Decimal(str(value)), (table, key_of(table, row), name)


def moved_since(warehouse: Warehouse, table: str, since: str) -> set[Key]:
    """Keys of the rows of ``table`` extracted after ``since`` (an ISO time stamp)."""
    return keys(
        table,
        warehouse.rows(f"SELECT * FROM {SCHEMA}.{table} WHERE _sdc_extracted_at > '{since}'"),
    )


def last_extraction(warehouse: Warehouse) -> str:
    return max(
        warehouse.rows(f"SELECT max(_sdc_extracted_at)::text AS t FROM {SCHEMA}.{table}")[0]["t"]
        for table in HOURLY_STREAMS
    )


def hourly_bookmarks(workspace: Workspace) -> dict[str, Any]:
    """The bookmarks Meltano keeps for the hourly job (its system database, read directly)."""
    with sqlite3.connect(workspace.meltano_db) as db:
        (state,) = db.execute(
            "SELECT completed_state FROM state WHERE state_id = ?", [HOURLY_STATE_ID]
        ).fetchone()
    bookmarks: dict[str, Any] = json.loads(state)["singer_state"]["bookmarks"]
    return bookmarks


def bookmark_date(bookmarks: dict[str, Any], stream: str) -> dt.date:
    return dt.date.fromisoformat(str(bookmarks[stream]["replication_key_value"])[:10])


@pytest.mark.parametrize("reading", EVERY_READING)
def test_meltano_jobs_move_every_stream_under_every_reading(
    sandbox_factory: Any, warehouse: Warehouse, tmp_path: Path, reading: str
) -> None:
    """The shipped jobs: recras-to-postgres (hourly) reads every incremental stream in full,
    then only what changed; recras-to-postgres-full (nightly) reads the rest and retires a
    deleted booking and a deleted customer; the warehouse always holds what the sandbox holds."""
    box = sandbox_factory(customers=CUSTOMERS, bookings=BOOKINGS, seed=21, **EVERY_READING[reading])
    # An invoice inside the look-back window whatever the seed's dates: it changes below.
    (recent,) = box.add_invoices(1, datum=(dt.date.today() - dt.timedelta(days=3)).isoformat())
    workspace = Workspace.fresh(tmp_path / "meltano")
    env = {
        **recras_demo.sandbox_env(box),
        **warehouse.env(),
        "TAP_RECRAS_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
    }
    meltano = Meltano(workspace, env, print)

    meltano.run("run", "recras-to-postgres")
    truth = Truth.of(box)
    # Concept invoices have no date: the hourly job never sees them, the nightly job does.
    dated = truth.invoices_from(dt.date.min)
    assert set(truth.invoice_dates()) - dated, "the seed has no concept invoice"
    truth.rows["facturen"] = [row for row in truth.rows["facturen"] if row["id"] in dated]
    assert_tables_match(warehouse, truth, [t for t in HOURLY_STREAMS if t != "factuurregels"])
    assert keys("factuurregels", warehouse.table("factuurregels")) == truth.of_invoices(
        "factuurregels", dated
    )
    bookmarks = hourly_bookmarks(workspace)
    look_back = dt.timedelta(days=LOOKBACK_DAYS)
    first_run_end = last_extraction(warehouse)

    # What changes in Recras between two hourly runs: new customers, bookings and invoices,
    # a payment on an invoice of the look-back window, a paid invoice from before it, a
    # deleted booking.
    added_customers = box.add_customers(2)
    added_bookings = box.add_bookings(3)
    added_invoices = box.add_invoices(2)
    box.set_invoice_status(recent, "deels_betaald")
    box.add_payment(recent, "12.34")
    old = truth.oldest_sent_invoice()
    box.set_invoice_status(old, "betaald")
    deleted = truth.rows["boekingen"][0]["id"]
    box.delete_booking(deleted)

    second = meltano.run("run", "recras-to-postgres")
    now = Truth.of(box)
    # Only what changed moved: new customers and bookings (with their persons and lines);
    # the invoices of the look-back window and after it with their payments; the invoice
    # lines of the windows from the last window's end minus the look-back.
    reread = now.invoices_from(bookmark_date(bookmarks, "facturen") - look_back)
    reread_lines = now.invoices_from(bookmark_date(bookmarks, "factuurregels") - look_back)
    assert {recent, *added_invoices} <= reread
    assert old not in reread
    expected = {
        "klanten": {(i,) for i in added_customers},
        "contactpersonen": {
            (c["id"], p["id"])
            for c in now.rows["klanten"]
            if c["id"] in added_customers
            for p in c["contactpersonen"]
        },
        "boekingen": {(i,) for i in added_bookings},
        "boekingsregels": keys(
            "boekingsregels",
            (r for r in now.rows["boekingsregels"] if r["boeking_id"] in added_bookings),
        ),
        "facturen": {(i,) for i in reread},
        "betalingen": now.of_invoices("betalingen", reread),
        "factuurregels": now.of_invoices("factuurregels", reread_lines),
    }
    for table in HOURLY_STREAMS:
        assert moved_since(warehouse, table, first_run_end) == expected[table], table
        assert second.records(table, "tap-recras") == len(expected[table]), table
    # The warehouse holds the sandbox's rows, the new payment's money exactly, but the
    # deleted booking is still there (only the nightly job retires it) and the old invoice's
    # status change is outside the look-back.
    facturen = {row["id"]: row for row in warehouse.table("facturen")}
    assert facturen[recent]["status"] == "deels_betaald"
    assert facturen[old]["status"] != "betaald"
    assert (deleted,) in keys("boekingen", warehouse.table("boekingen"))
    now_dated = now.invoices_from(dt.date.min)
    assert keys("facturen", facturen.values()) == {(i,) for i in now_dated}
    assert keys("betalingen", warehouse.table("betalingen")) == now.keys("betalingen")
    assert keys("factuurregels", warehouse.table("factuurregels")) == now.of_invoices(
        "factuurregels", now_dated
    )
    assert_tables_match(warehouse, now, ["klanten", "contactpersonen", "betalingen"])

    # A customer deleted before the nightly job, whose main contact is also another
    # customer's: that link stays.
    victim, shared_person, other = shared_main_contact(now.rows["klanten"])
    box.delete_customer(victim["id"])
    now = Truth.of(box)
    assert (other, shared_person) in now.keys("contactpersonen")

    nightly = meltano.run("run", "recras-to-postgres-full")
    for table in ("klanten", "boekingen", "facturen"):
        assert nightly.records(table, "tap-recras-full") == len(now.rows[table]), table
    assert_tables_match(
        warehouse,
        now,
        [
            "klanten",
            "contactpersonen",
            "boekingen",
            "boekingsregels",
            "facturen",
            *REFERENCE_TABLES,
        ],
    )
    retired = {
        "klanten": {(victim["id"],)},
        "contactpersonen": links_of([victim]),
        "boekingen": {(deleted,)},
        "boekingsregels": {
            key
            for key in keys("boekingsregels", warehouse.table("boekingsregels"))
            if key[0] == deleted
        },
    }
    assert retired["boekingsregels"], "the deleted booking had no lines in the warehouse"
    for table, gone in retired.items():
        rows = warehouse.table(table)
        assert keys(table, (r for r in rows if r["_sdc_deleted_at"] is not None)) == gone
    assert {row["id"]: row for row in warehouse.table("facturen")}[old]["status"] == "betaald"
