"""Whole lives of the two readers: many runs, each resumed from the last, with interruptions.

Each hypothesis example is one life of ``tap-recras`` (:class:`TapLife`) or ``source-recras``
(:class:`SourceLife`): a fresh recras-sandbox (20-60 customers; drawn: paged by 7 or not,
listed in id order or shuffled, since the docs promise no order) under one reading of the
points the docs leave open that matter to a reader (``id>`` inclusive or exclusive; list items
with or without their contact persons: every combination is a parametrisation), then a run
per step, the real executable in a subprocess, resumed from the state the previous run left
as an orchestrator keeps it (tap: the value of the last Singer STATE; source: the last STATE
per stream, as PyAirbyte keeps them). Before each run customers are added, changed through
``PUT /api2/klanten/{id}`` (some with a new contact person) and deleted. Each run either
completes, is killed (SIGKILL) or stopped (SIGTERM) after some lines, or stopped while its
stdout is a full 4 KiB pipe that nobody reads for a while, once per life by a reader that
never comes back. The tap selects both streams; the source both streams incrementally, or
``contactpersonen`` alone, which must advance too.

After every run tests/support/lives/reader_lives.py checks the invariants (see its docstring):
a completed run sends exactly the customers above its start position, once, as the sandbox
has them, with their contact persons; no customer arrives in two completed runs; the state
never goes back and ends at the highest id a completed run sent; no RECORD after the last
STATE; every state any run leaves is safe to resume from; a SIGTERM ends the run in time
with the documented exit; every line is whole, and for the source a valid Airbyte message.
The ``test_checks_*`` tests feed those checks doctored runs: each check can fail.

Where a stop lands: a SIGTERM after some lines is sent only while the run still has a
request to make (:meth:`ReaderLife.requests_needed`), so it lands inside the run rather than
in the moments after its last output, while the interpreter shuts down: there the run is
complete and the stop is ignored (exit 0), which the stop-signal tests of each reader cover
(tests/tap/stopping/test_full_pipe.py, tests/airbyte/test_stop_signals.py).

Bounded for CI: ``derandomize=True`` (the same lives every run), 2 lives per parametrisation
(the first is hypothesis's simplest: every run completes after one new customer, so the
state must advance at every read; ``READER_LIVES_EXAMPLES=20`` searches longer locally), 7
steps each (the sandbox, then 6 runs), and no shrinking unless ``STATEFUL_SHRINK=1`` is set.
A failure prints the steps of the life, and each run's plan, ending and positions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from support.airbyte import BIN, configured_catalog, discover, write_json
from support.lives.reader_lives import (
    ENDS_WITHIN,
    KLANTEN,
    PERSONS,
    Customer,
    Dialect,
    Life,
    Outcome,
    Plan,
    SourceDialect,
    TapDialect,
    drive,
    expected_persons,
)

from recras_sandbox.testing import SandboxProcess
from tap_recras.testing import make_catalog, tap_command, tap_env, write_inputs

PHASES = (Phase.explicit, Phase.generate) + (
    (Phase.shrink,) if os.environ.get("STATEFUL_SHRINK") == "1" else ()
)
LIFE_SETTINGS = settings(
    max_examples=int(os.environ.get("READER_LIVES_EXAMPLES", "2")),
    stateful_step_count=7,
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
#: Every request waits this long in the sandbox, so a kill can land between two of them.
LATENCY_MS = 20
#: The sandbox keeps at least this many customers (deletions stop there).
MIN_CUSTOMERS = 10


@dataclass(frozen=True)
class Changes:
    """What happens in Recras before a run: customers added, changed (PUT), deleted.

    A pick chooses among the customers by descending id (0: the newest, likely not read yet).
    A change with ``new_person`` also links a new contact person (and makes the first one
    the main contact).
    """

    added: int
    changed: tuple[tuple[int, bool], ...]
    deleted: tuple[int, ...]


def changes(min_added: int) -> st.SearchStrategy[Changes]:
    """Changes adding ``min_added`` to ``min_added + 5`` customers."""
    pick = st.integers(0, 1000)
    return st.builds(
        Changes,
        added=st.integers(min_added, min_added + 5),
        changed=st.lists(st.tuples(pick, st.booleans()), max_size=2).map(tuple),
        deleted=st.lists(pick, max_size=2).map(tuple),
    )


_CATALOGS: dict[str, Any] = {}


class ReaderLife(RuleBasedStateMachine):
    """One life of a reader; subclasses say which reader and how it is started."""

    dialect: ClassVar[Dialect]
    #: The sandbox's readings (set per parametrisation by :func:`life_of`).
    id_min: ClassVar[str] = "inclusive"
    list_persons: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.workdir = Path(tempfile.mkdtemp(prefix="reader-life-"))
        self._sandbox: SandboxProcess | None = None
        self._life: Life | None = None
        self.runs = 0
        self.edits = 0
        self.page_size = 0
        self.reader_gone_once = False

    @property
    def sandbox(self) -> SandboxProcess:
        assert self._sandbox is not None
        return self._sandbox

    @property
    def life(self) -> Life:
        assert self._life is not None
        return self._life

    def start_sandbox(self, customers: int, page_size: int, shuffle: bool) -> None:
        self.page_size = page_size
        self._sandbox = SandboxProcess(
            customers=customers,
            page_size=page_size,
            shuffle=shuffle,
            latency_ms=LATENCY_MS,
            id_min=self.id_min,
            list_persons=self.list_persons,
            log_path=self.workdir / "sandbox.log",
        ).start()

    def teardown(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------ what a run needs

    def arguments(self, rundir: Path, state: Any) -> list[str]:
        """The command line of one run resuming from ``state``."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    # ------------------------------------------------------------ steps

    def change(self, changes: Changes) -> None:
        """Add, then change, then delete customers through the sandbox (nothing runs now)."""
        if changes.added:
            self.sandbox.add_customers(changes.added)
        for pick, new_person in changes.changed:
            customer = self._pick(self.sandbox.customers(), pick)
            self.edits += 1
            body: dict[str, Any] = {"naam": f"Gewijzigd {self.edits}", "plaats": "Zwolle"}
            if new_person:
                linked = [
                    {"id": person["id"], "hoofdcontact": n == 0}
                    for n, person in enumerate(customer["contactpersonen"])
                ]
                new = {"voornaam": "Nieuw", "achternaam": f"Persoon {self.edits}"}
                body["contactpersonen"] = [*linked, {**new, "hoofdcontact": False}]
            status, _, raw = self.sandbox.request("PUT", f"/api2/klanten/{customer['id']}", body)
            assert status == 200, f"PUT {customer['id']} -> {status}: {raw[:300]!r}"
        for pick in changes.deleted:
            customers = self.sandbox.customers()
            if len(customers) > MIN_CUSTOMERS:
                self.sandbox.delete_customer(self._pick(customers, pick)["id"])

    def requests_needed(self) -> int:
        """How many requests any reader must make to read what lies ahead of its position.

        Every page that may hold a customer ahead, and (unless list items carry the
        contact persons) each such customer's detail, which alone holds its persons. While
        the run has made fewer, it has a request to send and its answer to wait for (at
        least LATENCY_MS): it cannot be about to end.
        """
        position = self.life.position
        ahead = sum(1 for c in self.sandbox.customers() if c["id"] > position)
        pages = max(1, -(-ahead // self.page_size)) if self.page_size else 1
        return pages + (0 if self.list_persons else ahead)

    def requests_made(self) -> int:
        """The reader's requests to the customer routes since the run started."""
        requests = self.sandbox.stats()["requests"]
        return int(requests.get("GET /api2/klanten", 0) + requests.get("GET /api2/klanten/{id}", 0))

    @staticmethod
    def _pick(customers: list[Customer], pick: int) -> Customer:
        newest_first = sorted(customers, key=lambda c: -c["id"])
        return newest_first[pick % len(newest_first)]

    def run(self, changes: Changes, plan: Plan) -> None:
        """Change Recras, run the reader once as ``plan`` says, check the run, keep its state."""
        self.change(changes)
        self.runs += 1
        rundir = self.workdir / f"run-{self.runs}"
        rundir.mkdir()
        needed = self.requests_needed()
        self.sandbox.reset_stats()
        outcome = drive(
            self.arguments(rundir, self.life.state),
            self.environment(),
            rundir / "stderr.log",
            plan,
            still_working=lambda: self.requests_made() < needed,
        )
        try:
            self.life.after(outcome, self.sandbox.customers())
        except Exception as failure:
            failure.add_note("runs so far:\n  " + "\n  ".join(self.life.history))
            raise

    @rule(changes=changes(1))
    def run_completes(self, changes: Changes) -> None:
        self.run(changes, Plan("complete"))

    @rule(
        changes=changes(0),
        after_lines=st.integers(0, 8),
        delay=st.sampled_from([0.0, 0.02, 0.05, 0.1]),
    )
    def run_killed(self, changes: Changes, after_lines: int, delay: float) -> None:
        self.run(changes, Plan("kill", after_lines, delay))

    # At least one line: the stop lands in the run, after the program installed its handler
    # (before that, SIGTERM ends any program by the default action).
    @rule(
        changes=changes(0),
        after_lines=st.integers(1, 6),
        delay=st.sampled_from([0.0, 0.02, 0.05, 0.1]),
    )
    def run_stopped(self, changes: Changes, after_lines: int, delay: float) -> None:
        self.run(changes, Plan("term", after_lines, delay))

    # At least 4 new customers: their records alone fill the 4 KiB pipe.
    @rule(changes=changes(4), after_lines=st.integers(1, 3), pause=st.sampled_from([0.1, 0.5]))
    def run_stopped_while_stdout_is_full(
        self, changes: Changes, after_lines: int, pause: float
    ) -> None:
        self.run(changes, Plan("term-full", after_lines, 0.0, pause))

    # Once per life: the run ends by its grace period, which costs GRACE_SECONDS.
    @precondition(lambda self: not self.reader_gone_once)
    @rule(changes=changes(4), after_lines=st.integers(1, 3))
    def run_stopped_while_stdout_is_full_and_never_read_again(
        self, changes: Changes, after_lines: int
    ) -> None:
        self.reader_gone_once = True
        self.run(changes, Plan("term-full", after_lines, 0.0, None))


class TapLife(ReaderLife):
    """tap-recras, both streams selected (and the nested contact persons)."""

    dialect = TapDialect()

    @initialize(
        customers=st.integers(20, 60), page_size=st.sampled_from([0, 7]), shuffle=st.booleans()
    )
    def start(self, customers: int, page_size: int, shuffle: bool) -> None:
        self.start_sandbox(customers, page_size, shuffle)
        self.config = self.sandbox.config(max_workers=2)
        if "tap" not in _CATALOGS:
            _CATALOGS["tap"] = make_catalog(self.config)
        self._life = Life(self.dialect, frozenset({KLANTEN, PERSONS}))

    def arguments(self, rundir: Path, state: Any) -> list[str]:
        return [*tap_command(), *write_inputs(rundir, self.config, _CATALOGS["tap"], state)]

    def environment(self) -> dict[str, str]:
        return tap_env("INFO")


class SourceLife(ReaderLife):
    """source-recras, both streams incremental, or ``contactpersonen`` alone."""

    dialect = SourceDialect()

    @initialize(
        customers=st.integers(20, 60),
        page_size=st.sampled_from([0, 7]),
        shuffle=st.booleans(),
        streams=st.sampled_from([(PERSONS,), (KLANTEN, PERSONS)]),
    )
    def start(
        self, customers: int, page_size: int, shuffle: bool, streams: tuple[str, ...]
    ) -> None:
        self.start_sandbox(customers, page_size, shuffle)
        self.config_path = write_json(
            self.workdir / "config.json", self.sandbox.config(max_workers=2)
        )
        if "source" not in _CATALOGS:
            _CATALOGS["source"] = discover(self.config_path)
        configured = configured_catalog(_CATALOGS["source"], dict.fromkeys(streams, "incremental"))
        self.catalog_path = write_json(self.workdir / "catalog.json", configured)
        self._life = Life(self.dialect, frozenset(streams))

    def arguments(self, rundir: Path, state: Any) -> list[str]:
        args = [
            str(BIN / "source-recras"), "read",
            "--config", str(self.config_path), "--catalog", str(self.catalog_path),
        ]  # fmt: skip
        if state is not None:
            args += ["--state", str(write_json(rundir / "state.json", state))]
        return args


READINGS = [
    pytest.param("inclusive", False, id="id-min-inclusive-list-without-persons"),
    pytest.param("inclusive", True, id="id-min-inclusive-list-with-persons"),
    pytest.param("exclusive", False, id="id-min-exclusive-list-without-persons"),
    pytest.param("exclusive", True, id="id-min-exclusive-list-with-persons"),
]


def life_of(machine: type[ReaderLife], id_min: str, list_persons: bool) -> type[ReaderLife]:
    """The machine under one reading; its own name, so each reading gets its own lives."""
    persons = "listed" if list_persons else "detail"
    name = f"{machine.__name__}_{id_min}_{persons}"
    return type(name, (machine,), {"id_min": id_min, "list_persons": list_persons})


@pytest.mark.slow
@pytest.mark.parametrize(("id_min", "list_persons"), READINGS)
def test_tap_resumed_run_after_run_loses_and_repeats_no_customer(
    id_min: str, list_persons: bool
) -> None:
    run_state_machine_as_test(life_of(TapLife, id_min, list_persons), settings=LIFE_SETTINGS)


@pytest.mark.slow
@pytest.mark.parametrize(("id_min", "list_persons"), READINGS)
def test_source_resumed_read_after_read_loses_and_repeats_no_customer(
    id_min: str, list_persons: bool
) -> None:
    run_state_machine_as_test(life_of(SourceLife, id_min, list_persons), settings=LIFE_SETTINGS)


# ---------------------------------------------------------------- the checks can fail
#
# Each invariant's check, fed a doctored run: a sound run passes, and a run that breaks one
# property fails with that property's message. A run is the lines a reader would have read
# (Singer for the tap, Airbyte for the source) over three customers: 1, 2 and 3, with 1, 2
# and 3 contact persons.

CUSTOMERS: list[Customer] = [
    {
        "id": n,
        "naam": f"Klant {n}",
        "contactpersonen": [
            {"id": 10 * n + k, "voornaam": f"P{k}", "hoofdcontact": k == 0} for k in range(n)
        ],
        "extra_fields": [],
    }
    for n in (1, 2, 3)
]
ONE, TWO = ([customer] for customer in CUSTOMERS[:2])
ALL = CUSTOMERS
COMPLETE = Plan("complete")
KILL = Plan("kill", 3)
TERM = Plan("term", 3)
TERM_FULL = Plan("term-full", 1, 0.0, 0.2)
NEVER_READ = Plan("term-full", 1, 0.0, None)
TAP_STOP, SOURCE_STOP = 128 + signal.SIGTERM, -signal.SIGTERM
TRACE = json.dumps(
    {
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": 1,
            "error": {"message": "Stopped by SIGTERM", "failure_type": "transient_error"},
        },
    }
)


def _data(customer: Customer, **changes: Any) -> dict[str, Any]:
    return {**{k: v for k, v in customer.items() if k != "extra_fields"}, **changes}


def _tap_state(position: int) -> str:
    bookmark = {"replication_key": "id", "replication_key_value": position}
    return json.dumps({"type": "STATE", "value": {"bookmarks": {KLANTEN: bookmark}}})


def _tap(customers: list[Customer], position: int | None, **changes: Any) -> list[str]:
    """What a sound tap run writes for ``customers`` (then a STATE at ``position``)."""
    lines = []
    for customer in customers:
        for row in expected_persons([customer]):
            lines.append(json.dumps({"type": "RECORD", "stream": PERSONS, "record": row}))
        data = _data(customer, **changes)
        lines.append(json.dumps({"type": "RECORD", "stream": KLANTEN, "record": data}))
    return lines + ([_tap_state(position)] if position is not None else [])


def _source_state(stream: str, position: int) -> str:
    stream_state = {"replication_key": "id", "replication_key_value": position}
    state = {"stream_descriptor": {"name": stream}, "stream_state": stream_state}
    return json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": state}})


def _source_record(stream: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1}}
    )


def _source(customers: list[Customer], position: int | None) -> list[str]:
    """What a sound source read of both streams writes (then its STATEs at ``position``)."""
    lines = [json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "hello"}})]
    for customer in customers:
        lines += [_source_record(PERSONS, row) for row in expected_persons([customer])]
        lines.append(_source_record(KLANTEN, _data(customer)))
    if position is not None:
        lines += [_source_state(PERSONS, position), _source_state(KLANTEN, position)]
    return lines


def _last(lines: list[str], index: int) -> list[str]:
    """``lines`` with the line at ``index`` moved to the end."""
    moved = list(lines)
    moved.append(moved.pop(index))
    return moved


def _run(plan: Plan, returncode: int, lines: list[str], **fields: Any) -> Outcome:
    took = 0.5 if plan.signal == signal.SIGTERM else None
    return Outcome(
        plan,
        returncode,
        lines,
        **{"signalled": plan.kind != "complete", "stop_took": took, **fields},
    )


def _case(
    name: str,
    outcome: Outcome,
    error: str | None = None,
    *,
    source: bool = False,
    position: int | None = None,
    completed: tuple[int, ...] = (),
) -> Any:
    """One doctored run: resumed from ``position``, ``completed`` sent by completed runs."""
    dialect: Dialect = SourceDialect() if source else TapDialect()
    return pytest.param(dialect, position, set(completed), outcome, error, id=name)


CHECK_CASES = [
    # Sound runs pass (a killed run may end on a cut line, a run that never was read on none).
    _case("sound-complete", _run(COMPLETE, 0, _tap(ALL, 3))),
    _case("sound-resumed", _run(COMPLETE, 0, _tap(ALL[1:], 3)), position=1),
    _case("sound-stop", _run(TERM, TAP_STOP, _tap(ONE, 0))),
    _case(  # stopped before its state changed: the SDK does not repeat the STATE it echoed
        "sound-stop-after-the-echo",
        _run(TERM, TAP_STOP, [_tap_state(1), json.dumps({"type": "SCHEMA", "stream": KLANTEN})]),
        position=1,
    ),
    _case("sound-kill", _run(KILL, -9, [*_tap(ONE, 0), _tap(TWO, None)[0]], tail=b'{"ty')),
    _case("sound-source", _run(COMPLETE, 0, _source(ALL, 3)), source=True),
    _case(
        "sound-source-stop", _run(TERM_FULL, SOURCE_STOP, [*_source(ONE, 0), TRACE]), source=True
    ),
    _case(
        "sound-never-read",
        _run(NEVER_READ, SOURCE_STOP, _source([], None), reader_gone=True),
        source=True,
        position=1,
    ),
    # 1. A completed run sends exactly the customers ahead, once, as the sandbox has them.
    _case("1-loses-one", _run(COMPLETE, 0, _tap([ALL[0], ALL[2]], 3)), r"lost customers \[2\]"),
    _case(
        "1-sends-one-twice", _run(COMPLETE, 0, _tap([*ALL, ALL[1]], 3)), r"more than once.*\[2\]"
    ),
    _case("1-rereads-the-position", _run(COMPLETE, 0, _tap(ALL, 3)), r"not: \[1\]", position=1),
    _case("1-stale-data", _run(COMPLETE, 0, _tap(ALL, 3, naam="Oud")), "customer 1: .* != sandbox"),
    _case("1-loses-a-person", _run(COMPLETE, 0, _tap(ALL, 3)[1:]), "contact persons differ"),
    _case(
        "1-source-loses-one",
        _run(COMPLETE, 0, _source(ALL[:2], 3)),
        r"lost customers \[3\]",
        source=True,
    ),
    # 2. No customer arrives in two completed runs.
    _case(
        "2-sent-by-an-earlier-completed-run",
        _run(COMPLETE, 0, _tap(ALL, 3)),
        r"already sent by an earlier completed run: \[3\]",
        completed=(3,),
    ),
    # 3. The state never goes back; a completed run ends at the highest id it sent.
    _case("3-goes-back", _run(KILL, -9, [_tap_state(1)]), "went back from 2 to 1", position=2),
    _case("3-stays-behind", _run(COMPLETE, 0, _tap(ALL, 2)), "up to 3 but left position 2"),
    _case("3-runs-ahead", _run(COMPLETE, 0, _tap(ALL, 5)), "up to 3 but left position 5"),
    _case(
        "3-source-streams-disagree",
        _run(
            COMPLETE, 0, [*_source(ALL, None), _source_state(KLANTEN, 2), _source_state(PERSONS, 3)]
        ),
        "disagree",
        source=True,
    ),
    # 4. No RECORD after the last STATE of a run that ended on its own or by SIGTERM.
    _case("4-record-after-state", _run(COMPLETE, 0, _last(_tap(ALL, 3), -2)), "RECORD after"),
    _case("4-no-state-at-all", _run(COMPLETE, 0, _tap(ALL, None)), "RECORD after the last STATE"),
    _case(
        "4-stopped-record-after-state",
        _run(TERM, SOURCE_STOP, [*_last(_source(ONE, 0), -3), TRACE]),
        "RECORD after the last STATE",
        source=True,
        position=0,
    ),
    _case("4-killed-run-is-exempt", _run(KILL, -9, _last(_tap(ONE, 0), -2))),
    # 5. The state any run leaves is safe: every customer at or below it was delivered.
    _case(
        "5-killed-run-skips",
        _run(KILL, -9, [*_tap(ONE, None), _tap_state(2)]),
        r"skips undelivered customers \[2\]",
    ),
    _case(
        "5-stopped-run-skips",
        _run(TERM, SOURCE_STOP, [*_source(ONE, 3), TRACE]),
        r"skips undelivered customers \[2, 3\]",
        source=True,
    ),
    # 6. A SIGTERM ends the run in time with the documented exit; every line is whole.
    _case("6-stop-too-slow", _run(TERM, TAP_STOP, _tap(ONE, 0), stop_took=ENDS_WITHIN + 1), "took"),
    _case("6-tap-ends-by-the-signal", _run(TERM, SOURCE_STOP, _tap(ONE, 0)), "expected 143"),
    _case("6-tap-stop-exits-0", _run(TERM, 0, _tap(ALL, 3)), "exit 0 after SIGTERM"),
    _case(
        "6-source-exits-143",
        _run(TERM, TAP_STOP, [*_source(ONE, 0), TRACE]),
        "expected -15",
        source=True,
    ),
    _case(
        "6-never-read-not-ended",
        _run(NEVER_READ, -9, [], reader_gone=True, stop_took=ENDS_WITHIN + 0.1),
        "SIGTERM took",
        source=True,
    ),
    _case("6-fails-unstopped", _run(COMPLETE, 1, []), "exit 1 without a stop"),
    _case("6-cut-line", _run(TERM, TAP_STOP, _tap(ONE, 0), tail=b'{"type":"STA'), "cut line"),
    _case("6-not-json", _run(KILL, -9, ['{"type": "RECORD", "str']), "line 1 is not a whole"),
    _case(
        "6-tap-stop-without-last-state",
        _run(
            TERM,
            TAP_STOP,
            [
                *_tap(ONE, 0),
                json.dumps({"type": "ACTIVATE_VERSION", "stream": KLANTEN, "version": 1}),
            ],
        ),
        "last message",
    ),
    # 7. Every source line is a valid Airbyte message; a stop ends with a transient TRACE.
    _case("7-no-content", _run(KILL, -9, ['{"type": "RECORD"}']), "line 1 is not", source=True),
    _case(
        "7-unknown-field",
        _run(KILL, -9, ['{"type": "LOG", "log": {"level": "INFO", "message": "x", "extra": 1}}']),
        "line 1 is not a whole message",
        source=True,
    ),
    _case("7-singer-line", _run(KILL, -9, [_tap_state(1)]), "line 1 is not", source=True),
    _case("7-stop-without-trace", _run(TERM, SOURCE_STOP, _source(ONE, 0)), "last:", source=True),
    _case(
        "7-stop-not-transient",
        _run(TERM, SOURCE_STOP, [*_source(ONE, 0), TRACE.replace("transient", "system")]),
        "system_error",
        source=True,
    ),
]


@pytest.mark.parametrize(("dialect", "position", "completed", "outcome", "error"), CHECK_CASES)
def test_checks_pass_a_sound_run_and_fail_a_broken_one(
    dialect: Dialect, position: int | None, completed: set[int], outcome: Outcome, error: str | None
) -> None:
    life = Life(dialect, frozenset({KLANTEN, PERSONS}), completed=completed)
    if position is not None:
        if isinstance(dialect, TapDialect):
            earlier = [_tap_state(position)]
        else:
            earlier = [_source_state(PERSONS, position), _source_state(KLANTEN, position)]
        life.state = dialect.next_state(None, [dialect.parse(line) for line in earlier])
        life.delivered = {c["id"] for c in CUSTOMERS if c["id"] <= position}
    if error is None:
        life.after(outcome, CUSTOMERS)
    else:
        with pytest.raises(AssertionError, match=error):
            life.after(outcome, CUSTOMERS)


def test_checks_of_a_persons_only_life_fail_on_a_lost_person_or_a_customer_record() -> None:
    lines = [_source_record(PERSONS, row) for row in expected_persons(ALL)]
    lines.append(_source_state(PERSONS, 3))
    persons_only = frozenset({PERSONS})
    Life(SourceDialect(), persons_only).after(_run(COMPLETE, 0, lines), ALL)
    with pytest.raises(AssertionError, match="contact persons differ"):
        lost = lines[:2] + lines[3:]
        Life(SourceDialect(), persons_only).after(_run(COMPLETE, 0, lost), ALL)
    with pytest.raises(AssertionError, match="records of unselected streams"):
        customer = _source_record(KLANTEN, _data(CUSTOMERS[0]))
        Life(SourceDialect(), persons_only).after(_run(COMPLETE, 0, [customer, *lines]), ALL)
