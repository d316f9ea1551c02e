"""tap-recras into MeltanoLabs' target-postgres, the warehouse most Meltano users run.

The real ``.venv/bin/tap-recras`` is piped into the real ``target-postgres`` executable
(``meltanolabs-target-postgres`` in its own virtual environment,
``.meltano/loaders/target-postgres/venv``, installed by ``scripts/install_meltano.sh``), and
through ``meltano run`` with the jobs ``meltano.yml`` ships, against the recras-sandbox and a
private PostgreSQL cluster on 127.0.0.1 (``scripts/pgcluster.py``). One cluster serves the
module; every test gets a database and a sandbox of its own. Nothing is skipped: a missing
plugin or PostgreSQL fails with the reason.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import recras_demo
from pgcluster import PostgresCluster
from recras_demo import Meltano, Workspace
from support.fault_proxy import Fault, FaultProxy, Rule
from support.paths import ROOT

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
        """The rows of a query, as dicts (through json_agg: psql prints one JSON array)."""
        out = self.pg.psql(
            f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q", database=self.database
        )
        result: list[dict[str, Any]] = json.loads(out)
        return result

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


def test_meltano_run_jobs_incremental_then_full_table(
    sandbox_factory: Any, warehouse: Warehouse, tmp_path: Path
) -> None:
    """The shipped jobs: recras-to-postgres (incremental), recras-to-postgres-full (nightly)."""
    box = sandbox_factory(customers=CUSTOMERS, seed=6)
    workspace = Workspace.fresh(tmp_path / "meltano")
    meltano = Meltano(workspace, {**recras_demo.sandbox_env(box), **warehouse.env()}, print)
    truth = box.customers()
    victim, shared_person, other = shared_main_contact(truth)

    first = meltano.run("run", "recras-to-postgres")
    assert first.records("klanten", "tap-recras") == CUSTOMERS
    assert [r["id"] for r in warehouse.klanten()] == [c["id"] for c in truth]
    assert {(r["klant_id"], r["id"]) for r in warehouse.links()} == links_of(truth)

    # New customers and a deletion: the nightly job brings the first and marks the second
    # (incremental runs after new customers are covered by the piped test above).
    box.add_customers(4)
    box.delete_customer(victim["id"])
    full = meltano.run("run", "recras-to-postgres-full")
    now = box.customers()
    assert full.records("klanten", "tap-recras-full") == len(now)
    klanten = warehouse.klanten()
    assert [r["id"] for r in klanten if r["_sdc_deleted_at"] is None] == [c["id"] for c in now]
    assert [r["id"] for r in klanten if r["_sdc_deleted_at"] is not None] == [victim["id"]]
    links = warehouse.links()
    assert {(r["klant_id"], r["id"]) for r in links if r["_sdc_deleted_at"] is None} == links_of(
        now
    )
    assert (other, shared_person) in links_of(now)
    assert {(r["klant_id"], r["id"]) for r in links if r["_sdc_deleted_at"] is not None} == (
        links_of([victim])
    )
