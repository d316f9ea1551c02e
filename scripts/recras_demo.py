"""The Meltano demo behind ``./scripts/demo.sh``, shared with ``tests/e2e/test_meltano_demo.py``.

Runs the project's main jobs through real Meltano against a local Recras sandbox:

1. start a seeded sandbox (``recras_sandbox.testing.SandboxProcess``);
2. ``meltano run tap-recras target-duckdb``, the hourly job (a first, complete incremental run
   of customers, bookings, invoices, payments and invoice lines);
3. add customers, bookings and invoices to the sandbox, run again: only the new ones move,
   with the invoices of the look-back window (their status and payments may have changed);
4. ``meltano run tap-recras-full target-duckdb``, the nightly job: customers and bookings in
   full, and the reference tables (products, packages, locations, ...);
5. ``meltano run tap-customers-export target-recras``: the sample export in ``demo/`` is
   reshaped by stream maps and upserted into the sandbox;
6. print a report (rows per DuckDB table after each run, the target's summary, the rejects
   file), stop the sandbox.

Everything a run writes (DuckDB file, Meltano system database with the state, id map, rejects
file, logs) goes into one work directory that is emptied first, so every run starts from
scratch and gives the same result.

Run it with the project's virtual environment (it imports ``recras_sandbox``); Meltano and the
plugins must be installed (``./scripts/install_meltano.sh``)::

    .venv/bin/python scripts/recras_demo.py [--workdir output/demo] [--customers 200] \
        [--bookings 300] [--add 25]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
#: target-duckdb's own virtual environment has the duckdb module; the project's has not.
DUCKDB_PYTHON = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "python"
EXPORT_FILE = ROOT / "demo" / "export_customers.jsonl"
#: Columns of the sample export (and of the PostgreSQL table built from it), in file order.
EXPORT_COLUMNS = (
    "customer_no",
    "company",
    "street",
    "postal_code",
    "city",
    "province",
    "website",
    "contact_first_name",
    "contact_last_name",
    "contact_gender",
    "contact_email",
    "contact_phone",
)
DUCKDB_SCHEMA = "recras"
MELTANO_TIMEOUT = 600

Echo = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


# -- the work directory ------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    """All files of one demo or test run, under one directory."""

    root: Path

    @classmethod
    def fresh(cls, root: Path) -> Workspace:
        """Empty (or create) ``root`` and return the workspace in it."""
        root = root.resolve()
        if root.exists():
            shutil.rmtree(root)
        (root / "logs").mkdir(parents=True)
        (root / "jsonl").mkdir()
        # Meltano keeps each plugin's catalog and state files in .meltano/run/<plugin>/, shared
        # by every run in the project: two runs at once (a demo during a test session) would
        # overwrite each other's. A .meltano of its own per workspace, with the installed
        # plugins linked in, keeps runs apart without installing anything twice.
        sys_dir = root / ".meltano"
        sys_dir.mkdir()
        for kind in ("extractors", "loaders"):
            (ROOT / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
        return cls(root)

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def id_map(self) -> Path:
        return self.root / "recras-id-map.sqlite3"

    @property
    def rejects(self) -> Path:
        return self.root / "recras-rejects.jsonl"

    @property
    def meltano_db(self) -> Path:
        return self.root / "meltano.db"

    @property
    def jsonl_dir(self) -> Path:
        return self.root / "jsonl"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def env(self) -> dict[str, str]:
        """Environment variables pointing Meltano and the plugins at this workspace.

        Plugin settings from environment variables take precedence over ``meltano.yml``;
        a system database of its own gives every workspace fresh Meltano state.
        """
        return {
            "MELTANO_SYS_DIR_ROOT": str(self.root / ".meltano"),
            "MELTANO_DATABASE_URI": f"sqlite:///{self.meltano_db}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TARGET_DUCKDB_FILEPATH": str(self.warehouse),
            "TARGET_RECRAS_ID_MAP_PATH": str(self.id_map),
            "TARGET_RECRAS_REJECTS_PATH": str(self.rejects),
            "TARGET_JSONL_DESTINATION_PATH": str(self.jsonl_dir),
        }


# -- running Meltano ---------------------------------------------------------------------

_METRIC = re.compile(r"METRIC: (\{.*\})")
#: Plugin log lines worth showing while a run is in progress.
_NOISE = re.compile(
    r"METRIC: |Skipping parse of env var settings|is assumed to be unsorted|"
    r"Found '.*' filter rule|Properties \(.*\) were present|as child stream to|"
    r"in \w+ mode with context keys|v\[could not be detected\]",
)
_MAX_LINE = 150


@dataclass
class MeltanoRun:
    """What one ``meltano`` invocation did."""

    args: tuple[str, ...]
    returncode: int
    seconds: float
    log_path: Path
    #: record_count metrics summed per (plugin, stream), e.g. ("tap-recras", "klanten").
    record_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Every log line a plugin wrote, as (plugin, text).
    plugin_lines: list[tuple[str, str]] = field(default_factory=list)

    def records(self, stream: str, plugin: str | None = None) -> int:
        """Records of ``stream`` counted by ``plugin`` (default: by any producer plugin)."""
        return sum(
            count
            for (name, name_stream), count in self.record_counts.items()
            if name_stream == stream and (plugin is None or name == plugin)
        )

    def lines_of(self, plugin: str) -> list[str]:
        return [text for name, text in self.plugin_lines if name == plugin]


class MeltanoError(RuntimeError):
    """A Meltano command failed; the message ends with the tail of its log."""


class Meltano:
    """Runs ``meltano`` in the project with a workspace's environment, showing progress."""

    def __init__(
        self,
        workspace: Workspace,
        extra_env: Mapping[str, str] | None = None,
        echo: Echo = _print,
    ) -> None:
        self.workspace = workspace
        self.extra_env = dict(extra_env or {})
        self.echo = echo
        self._count = 0

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Settings a user exported for a real Recras must not leak into the demo.
        for name in list(env):
            if name.startswith(("TAP_RECRAS", "TARGET_RECRAS", "RECRAS_", "MELTANO_")):
                del env[name]
        env.update(self.workspace.env())
        env.update(self.extra_env)
        return env

    def run(self, *args: str, check: bool = True) -> MeltanoRun:
        """Run ``meltano <args>``; stream a readable digest of its log; return the outcome."""
        if not MELTANO.exists():
            msg = f"{MELTANO} not found: run ./scripts/install_meltano.sh first"
            raise MeltanoError(msg)
        self._count += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", " ".join(args)).strip("-")
        log_path = self.workspace.logs / f"{self._count:02d}-{slug}.log"
        command = [str(MELTANO), "--log-format=json", *args]
        self.echo(f"    $ meltano {' '.join(args)}")
        started = time.monotonic()
        result = MeltanoRun(args=tuple(args), returncode=-1, seconds=0.0, log_path=log_path)
        with (
            log_path.open("w", encoding="utf-8") as log,
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
            ) as proc,
        ):
            assert proc.stdout is not None
            for raw in proc.stdout:
                log.write(raw)
                self._digest(raw.rstrip("\n"), result)
            try:
                proc.wait(timeout=MELTANO_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        result.returncode = proc.returncode
        result.seconds = time.monotonic() - started
        if check and result.returncode != 0:
            tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-40:])
            msg = (
                f"meltano {' '.join(args)} failed with exit code {result.returncode} "
                f"(full log: {log_path}):\n{tail}"
            )
            raise MeltanoError(msg)
        return result

    def _digest(self, raw: str, result: MeltanoRun) -> None:
        try:
            event: Any = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict):  # a command's own output, not a log line
            if raw.strip():
                self.echo(f"      {raw}")
            return
        text = str(event.get("event", ""))
        plugin = event.get("string_id") or event.get("name")
        level = str(event.get("level", "info"))
        if plugin and event.get("stdio"):
            result.plugin_lines.append((str(plugin), text))
            # Structured logging (SDK plugins under Meltano) carries metrics in metric_info;
            # plain logging writes "METRIC: {...}" into the text.
            metric: Any = event.get("metric_info")
            if metric is None and (found := _METRIC.search(text)):
                try:
                    metric = json.loads(found.group(1))
                except ValueError:
                    metric = None
            if isinstance(metric, dict):
                self._count_metric(str(plugin), metric, result)
            elif text != "METRIC" and not _NOISE.search(text):
                line = _strip_log_prefix(text)
                if len(line) > _MAX_LINE:
                    line = line[: _MAX_LINE - 3] + "..."
                self.echo(f"      [{plugin}] {line}")
        elif level in {"warning", "error", "critical"} or text in {
            "Block run completed",
            "Run completed",
        }:
            label = "meltano" if level == "info" else f"meltano {level}"
            self.echo(f"      {label}: {text}")

    @staticmethod
    def _count_metric(plugin: str, metric: dict[str, Any], result: MeltanoRun) -> None:
        if metric.get("metric") != "record_count":
            return
        stream = str(metric.get("tags", {}).get("stream", ""))
        key = (plugin, stream)
        result.record_counts[key] = result.record_counts.get(key, 0) + int(metric["value"])


_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+\s*\|\s*(\w+)\s*\|\s*[\w.]+\s*\|\s*")


def _strip_log_prefix(text: str) -> str:
    """Drop the SDK's ``<time> | INFO | logger |`` prefix, keeping a non-INFO level."""
    match = _LOG_PREFIX.match(text)
    if not match:
        return text
    rest = text[match.end() :]
    return rest if match.group(1) == "INFO" else f"{match.group(1)}: {rest}"


# -- reading the results -----------------------------------------------------------------


def duckdb_counts(warehouse: Path, schema: str = DUCKDB_SCHEMA) -> dict[str, int]:
    """Rows per table in the DuckDB file (read with target-duckdb's own duckdb module)."""
    if not warehouse.exists():
        return {}
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "names = [r[0] for r in con.execute("
        "'select table_name from information_schema.tables where table_schema = ? "
        "order by table_name', [sys.argv[2]]).fetchall()]\n"
        "print(json.dumps({n: con.execute("
        'f\'select count(*) from "{sys.argv[2]}"."{n}"\').fetchone()[0] for n in names}))\n'
    )
    out = subprocess.run(
        [str(DUCKDB_PYTHON), "-c", script, str(warehouse), schema],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    counts: dict[str, int] = json.loads(out.stdout)
    return counts


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def read_rejects(path: Path) -> list[dict[str, Any]]:
    """The rejected records target-recras wrote (JSON Lines; none if the file is absent)."""
    return _read_jsonl(path) if path.exists() else []


def target_summary(run: MeltanoRun, plugin: str = "target-recras") -> list[str]:
    """The summary lines target-recras logged at the end of a run."""
    lines = [_strip_log_prefix(text) for text in run.lines_of(plugin)]
    summary = [line for line in lines if re.search(r"summary", line, re.IGNORECASE)]
    return summary or lines[-3:]


def export_rows(path: Path = EXPORT_FILE) -> list[dict[str, Any]]:
    """The sample export's records."""
    return _read_jsonl(path)


def export_table_sql(rows: list[dict[str, Any]], table: str = "export_customers") -> str:
    """SQL creating ``table`` with the export's columns (all text) and inserting ``rows``."""

    def literal(value: object) -> str:
        return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"

    columns = ", ".join(
        f"{name} text PRIMARY KEY" if name == "customer_no" else f"{name} text"
        for name in EXPORT_COLUMNS
    )
    statements = [f"CREATE TABLE {table} ({columns});"]
    statements.extend(
        f"INSERT INTO {table} ({', '.join(EXPORT_COLUMNS)}) VALUES "  # noqa: S608 (literal())
        f"({', '.join(literal(row.get(name)) for name in EXPORT_COLUMNS)});"
        for row in rows
    )
    return "\n".join(statements) + "\n"


# -- the demo ----------------------------------------------------------------------------


@dataclass
class DemoReport:
    """Everything the demo measured; the test asserts on it."""

    workspace: Workspace
    base_url: str
    customers_seeded: int
    bookings_seeded: int
    #: Customers, bookings and invoices, each, added before the second run.
    added: int
    first_run: MeltanoRun
    second_run: MeltanoRun
    nightly_run: MeltanoRun
    export_run: MeltanoRun
    counts_after_first: dict[str, int]
    counts_after_second: dict[str, int]
    counts_after_nightly: dict[str, int]
    sandbox_customers_before_export: int
    sandbox_customers_after_export: int
    rejects: list[dict[str, Any]]
    seconds: float = 0.0

    def render(self) -> str:
        ws = self.workspace
        lines = [
            "",
            "Recras demo report",
            "==================",
            f"Sandbox: {self.base_url} (seeded with {self.customers_seeded} customers and "
            f"{self.bookings_seeded} bookings; {self.added} customers, {self.added} bookings "
            f"and {self.added} invoices added before the second run)",
            "",
            f"Recras -> DuckDB ({ws.warehouse}), schema {DUCKDB_SCHEMA!r}, rows after each run",
            "(hourly: tap-recras, incremental; nightly: tap-recras-full, full table):",
            f"  {'table':<20} {'hourly 1':>8} {'hourly 2':>8} {'nightly':>8}   "
            "records moved (hourly 1 / hourly 2 / nightly)",
        ]
        runs = (
            (self.first_run, self.counts_after_first),
            (self.second_run, self.counts_after_second),
            (self.nightly_run, self.counts_after_nightly),
        )
        for table in sorted(self.counts_after_nightly):
            rows = " ".join(f"{counts.get(table, 0):>8}" for _, counts in runs)
            # run.args: ("run", <extractor>, <loader>).
            moved = " / ".join(str(run.records(table, run.args[1])) for run, _ in runs)
            lines.append(f"  {table:<20} {rows}   {moved}")
        lines += [
            "",
            f"Export -> Recras ({EXPORT_FILE.relative_to(ROOT)}, "
            f"{self.export_run.records('export_customers')} records read):",
        ]
        lines += [f"  target-recras: {line}" for line in target_summary(self.export_run)]
        lines += [
            f"  sandbox customers: {self.sandbox_customers_before_export} before, "
            f"{self.sandbox_customers_after_export} after",
            f"  rejects file: {ws.rejects} ({len(self.rejects)} rejected)",
        ]
        lines += [f"    - {_reject_label(reject)}" for reject in self.rejects[:5]]
        lines += [
            f"  id map: {ws.id_map}",
            "",
            f"Meltano logs: {ws.logs}",
            f"Finished in {self.seconds:.0f} s.",
        ]
        return "\n".join(lines)


def _reject_label(reject: Mapping[str, Any]) -> str:
    record = reject.get("record") if isinstance(reject.get("record"), dict) else {}
    key = (record or {}).get("external_id") or (record or {}).get("naam") or "?"
    reason = reject.get("reason") or reject.get("error") or reject.get("message") or reject
    return f"{key}: {reason}"


def sandbox(customers: int, seed: int, **options: Any) -> Any:
    """A Recras sandbox (``options``: more SandboxOptions): `with` starts it and stops it."""
    from recras_sandbox.testing import SandboxProcess  # noqa: PLC0415 (needs the project venv)

    return SandboxProcess(customers=customers, seed=seed, **options)


#: The sandbox dates its bookings and invoices within the two years before today (and an
#: invoice up to a month around its booking): the tap's first run reads invoice lines from
#: here, not from the default start_date (2000-01-01), 300 windows of 31 days earlier.
SANDBOX_HISTORY = dt.timedelta(days=800)


def sandbox_env(box: Any) -> dict[str, str]:
    """The variables meltano.yml reads to reach a sandbox, and the start of its history."""
    return {
        "RECRAS_BASE_URL": str(box.base_url),
        "RECRAS_API_KEY": str(box.api_key),
        "TAP_RECRAS_START_DATE": (dt.date.today() - SANDBOX_HISTORY).isoformat(),
    }


def run_demo(
    workdir: Path,
    *,
    customers: int = 200,
    bookings: int = 300,
    added: int = 25,
    seed: int = 42,
    echo: Echo = _print,
    then: Callable[[Meltano, Any], None] | None = None,
) -> DemoReport:
    """Run the whole demo in a fresh ``workdir`` and return what it measured.

    ``then(meltano, sandbox)``, if given, runs after the export, while the sandbox still runs
    (the end-to-end test uses it for more jobs).
    """
    started = time.monotonic()
    ws = Workspace.fresh(workdir)
    echo(
        f"==> starting a Recras sandbox with {customers} customers and {bookings} bookings "
        f"(seed {seed})"
    )
    with sandbox(customers, seed, bookings=bookings) as box:
        echo(f"    sandbox listening on {box.base_url}")
        meltano = Meltano(ws, sandbox_env(box), echo)

        echo("==> Recras -> DuckDB, the hourly job's first run (no state yet: everything)")
        first = meltano.run("run", "tap-recras", "target-duckdb")
        counts_first = duckdb_counts(ws.warehouse)
        echo(f"    DuckDB rows: {counts_first}")

        echo(f"==> adding {added} customers, {added} bookings and {added} invoices")
        box.add_customers(added)
        box.add_bookings(added)
        box.add_invoices(added)

        echo("==> Recras -> DuckDB, the hourly job again (incremental: only what is new)")
        second = meltano.run("run", "tap-recras", "target-duckdb")
        counts_second = duckdb_counts(ws.warehouse)
        echo(f"    DuckDB rows: {counts_second}")

        echo("==> Recras -> DuckDB, the nightly job (full table, and the reference tables)")
        nightly = meltano.run("run", "tap-recras-full", "target-duckdb")
        counts_nightly = duckdb_counts(ws.warehouse)
        echo(f"    DuckDB rows: {counts_nightly}")

        before = len(box.customers())
        echo(f"==> export -> Recras: {EXPORT_FILE.relative_to(ROOT)} through stream maps")
        export = meltano.run("run", "tap-customers-export", "target-recras")
        after = len(box.customers())
        rejects = read_rejects(ws.rejects)
        if then is not None:
            then(meltano, box)

    report = DemoReport(
        workspace=ws,
        base_url=str(box.base_url),
        customers_seeded=customers,
        bookings_seeded=bookings,
        added=added,
        first_run=first,
        second_run=second,
        nightly_run=nightly,
        export_run=export,
        counts_after_first=counts_first,
        counts_after_second=counts_second,
        counts_after_nightly=counts_nightly,
        sandbox_customers_before_export=before,
        sandbox_customers_after_export=after,
        rejects=rejects,
    )
    report.seconds = time.monotonic() - started
    echo("==> sandbox stopped")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "output" / "demo")
    parser.add_argument("--customers", type=int, default=200, help="customers to seed")
    parser.add_argument("--bookings", type=int, default=300, help="bookings to seed")
    parser.add_argument(
        "--add", type=int, default=25, help="customers, bookings and invoices added before run 2"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    try:
        report = run_demo(
            args.workdir,
            customers=args.customers,
            bookings=args.bookings,
            added=args.add,
            seed=args.seed,
        )
    except MeltanoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    print(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
