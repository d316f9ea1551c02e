"""Whole lives of the two writers: many runs against one Recras, interrupted at random.

A life (:class:`WriterLife`, a hypothesis state machine) is one pipeline: a real
recras-sandbox (3 seeded customers) under one reading of what the docs leave open, one
id map and one rejects file kept between runs, and a source system
(:class:`support.lives.writer_lives.SourceModel`) that changes between runs: new rows, changed
names (NFC or NFD, or none at all), places, contact persons and e-mail letter case, rows
deleted in the source, keyless events that create a customer once, hostile source keys
(``7`` spelt ``7.0``, ``9007199254740993.0`` beside ``9007199254740992``, NFC and NFD
text, ``abc`` beside ``ABC``) and now and then an invalid province code (a reject). Each
step is one run of the real executable -- ``target-recras`` (Singer) or
``destination-recras write`` (Airbyte) -- fed what a tap sends after the position of the
last STATE echoed so far, with a STATE after every few records (mostly also after the last
one), and ended one of three ways: it completes, it is killed by SIGKILL (often mid-request:
the sandbox answers after 4 ms), or it is stopped by SIGTERM with stdin still open (also
while its one-page stdout pipe is full and nobody reads it for a while). A life has at least
five runs and ends with a completed one.

Checked after every run (support.lives.writer_lives, each check shown able to fail below):

1. after a completed run, every record the source still has is in Recras exactly once with
   its last data, and nothing else was created (seed + one customer per source key or
   event written; under both merge readings);
2. every record before the last echoed STATE (every record, after a run that exited 0) is
   in Recras with that data or newer;
3. echoed STATEs are STATEs of the input, never older than one echoed before (in the run or
   an earlier one), and a completed run echoes the input's last;
4. a SIGTERM ends the run within GRACE_SECONDS + 12 s: target-recras exits 143,
   destination-recras dies by SIGTERM after a TRACE ERROR (transient_error); every stdout
   line is whole and (destination) a valid Airbyte message;
5. every rejected record a STATE covered is in the rejects file, whole, with its reason at
   ``provinciecode``, and no valid record was rejected.

Runs every merge and ``id>=`` reading with each executable; hypothesis draws the other
readings, ``max_workers`` (1-4) per run and everything else. Bounded for CI:
``derandomize=True`` (each case plays the same lives on every run; the case's name seeds
them), ``WRITER_LIVES_EXAMPLES`` lives per case (default 2) of ``WRITER_LIVES_STEPS`` runs
(default 5; a life not ending in a completed run gets one), no shrinking unless
``WRITER_LIVES_SHRINK=1`` (every run is real, and timing makes a shrink flaky). A failure
prints the steps, every run and the last run's log.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from support.airbyte import write_json
from support.lives.writer_lives import (
    DATA_COUNT,
    ENDS_WITHIN,
    INVALID_PROVINCE,
    KEYS,
    STATE_PADDING,
    Change,
    Data,
    Echoed,
    Item,
    RunInput,
    RunOutput,
    SourceModel,
    Stop,
    Version,
    airbyte_catalog,
    airbyte_lines,
    airbyte_position,
    airbyte_state,
    data_number,
    names_possible,
    read_airbyte,
    read_singer,
    recras_problems,
    reject_problems,
    run_writer,
    singer_lines,
    singer_position,
    singer_state,
    start_airbyte,
    start_singer,
    state_problems,
    stop_problems,
)
from support.target import target_config

from recras_sandbox.readings import (
    ID_MIN_READINGS,
    LINKED_PERSON_FIELDS_READINGS,
    MERGE_READINGS,
    PUT_EXTRA_FIELDS_READINGS,
)
from recras_sandbox.testing import SandboxProcess

SEED_CUSTOMERS = 3
#: Each request takes a few ms: a kill soon after a STATE often lands mid-POST or mid-PUT.
LATENCY_MS = 4
MIN_RUNS = 5
EXECUTABLES = ("target-recras", "destination-recras")

datas = st.integers(0, DATA_COUNT - 1).map(data_number)
changes = st.builds(
    Change,
    kind=st.sampled_from(("upsert", "upsert", "upsert", "delete", "event")),
    key=st.integers(0, len(KEYS) - 1),
    data=datas,
)
run_shapes = {
    "changes": st.lists(changes, min_size=3, max_size=10),
    "workers": st.integers(1, 4),
    "state_every": st.integers(1, 4),
    "padded": st.booleans(),
    # Mostly a STATE after the last record; some taps end without one.
    "final_state": st.sampled_from((True, True, True, False)),
}
kills = st.one_of(
    # Right after the n-th STATE line: the next writes are in flight.
    st.builds(
        Stop,
        how=st.just("kill"),
        after_states=st.integers(1, 3),
        delay=st.sampled_from((0.0, 0.005, 0.02, 0.05)),
    ),
    # Seconds after the start: while it starts, looks up what a kill left pending, or writes.
    st.builds(Stop, how=st.just("kill"), delay=st.sampled_from((0.6, 1.0, 1.4, 1.8))),
)
terms = st.one_of(
    st.builds(Stop, how=st.just("term"), delay=st.sampled_from((0.0, 0.01, 0.05, 0.2))),
    # stdout full and unread; the reader comes back after a pause, or only once the run
    # ended (by its grace period: the costly case, so less often).
    st.builds(
        Stop,
        how=st.just("term"),
        full_pipe=st.just(True),
        delay=st.sampled_from((0.0, 0.05)),
        pause=st.sampled_from((0.3, 1.0, 0.3, 2.0, 1.0, None)),
    ),
)


class WriterLife(RuleBasedStateMachine):
    """One pipeline's life: a sandbox, an id map and rejects file, a changing source."""

    executable: ClassVar[str] = EXECUTABLES[0]
    merge: ClassVar[str] = MERGE_READINGS[0]
    id_min: ClassVar[str] = ID_MIN_READINGS[0]

    def __init__(self) -> None:
        super().__init__()
        self.sandbox: SandboxProcess | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="writer-life-"))
        self.model = SourceModel(log=False)
        self.seed: list[dict[str, Any]] = []
        self.random = random.Random(0)
        self.position = 0
        self.history: list[str] = []
        self.last_completed = False
        #: False while a run is being checked: a failed check ends the life as it is.
        self.healthy = True

    @initialize(
        put_extra_fields=st.sampled_from(PUT_EXTRA_FIELDS_READINGS),
        linked_person_fields=st.sampled_from(LINKED_PERSON_FIELDS_READINGS),
        log=st.booleans(),
        rows=st.dictionaries(st.integers(0, len(KEYS) - 1), datas, min_size=5, max_size=8),
        events=st.lists(datas, max_size=3),
        seed=st.integers(0, 2**32 - 1),
    )
    def begin(
        self,
        put_extra_fields: str,
        linked_person_fields: str,
        log: bool,
        rows: dict[int, Data],
        events: list[Data],
        seed: int,
    ) -> None:
        """A fresh sandbox under the case's readings; the source's first rows."""
        self.sandbox = SandboxProcess(
            customers=SEED_CUSTOMERS,
            latency_ms=LATENCY_MS,
            merge=self.merge,
            id_min=self.id_min,
            put_extra_fields=put_extra_fields,
            linked_person_fields=linked_person_fields,
        ).start()
        self.seed = self.sandbox.customers()
        self.model = SourceModel(log=log)
        for key, data in rows.items():
            self.model.apply(Change("upsert", key, data))
        for data in events:
            self.model.apply(Change("event", 0, data))
        # For the runs teardown adds (hypothesis's own data may be used up by then).
        self.random = random.Random(seed)
        write_json(self.workdir / "catalog.json", airbyte_catalog())

    # One rule, so that every life mixes the three endings (hypothesis turns whole rules off
    # in some lives). Its simplest life, which hypothesis plays first, kills every run right
    # after the first STATE: cheap, and still mid-write.
    @rule(**run_shapes, stop=st.one_of(kills, st.just(Stop()), terms))
    def run_from_the_last_state(
        self,
        changes: list[Change],
        workers: int,
        state_every: int,
        padded: bool,
        final_state: bool,
        stop: Stop,
    ) -> None:
        self.run(changes, workers, state_every, padded, final_state, stop)

    def teardown(self) -> None:
        """Top the life up to MIN_RUNS runs, the last one completed; then clean up."""
        try:
            for _ in range(MIN_RUNS + 1):
                if not self.healthy or self.sandbox is None:
                    break
                if len(self.history) >= MIN_RUNS and self.last_completed:
                    break
                workers = self.random.randint(1, 4)
                self.run(self._random_changes(), workers, 2, False, True, Stop())
        finally:
            self.close()

    def close(self) -> None:
        """Stop the sandbox, remove the life's files."""
        if os.environ.get("WRITER_LIVES_PRINT"):
            print("\n".join(["LIFE", *self.history]))
        if self.sandbox is not None:
            self.sandbox.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- one run ------------------------------------------------------------------------

    def run(
        self,
        changes: list[Change],
        workers: int,
        state_every: int,
        padded: bool,
        final_state: bool,
        stop: Stop,
    ) -> None:
        """Change the source, run the writer from the last echoed STATE, check everything."""
        assert self.sandbox is not None
        self.healthy = False
        for change in changes:
            self.model.apply(change)
        run_input = self.model.input_after(
            self.position,
            state_every=state_every,
            padding=STATE_PADDING if padded else 0,
            final_state=final_state,
        )
        number = len(self.history) + 1
        # The id map and rejects file of the life: id-map.sqlite3, rejects.jsonl in workdir.
        config = target_config(
            self.workdir,
            self.sandbox.config(),
            max_workers=workers,
            request_timeout=10,
            stream_maps={"events": {"__alias__": "klanten"}},
        )
        positions = run_input.state_positions()
        if self.executable == "target-recras":
            start, data = start_singer(config), singer_lines(run_input)
            expected = [singer_state(p, run_input.padding) for p in positions]
        else:
            start = start_airbyte(config, self.workdir / "catalog.json")
            data = airbyte_lines(run_input)
            expected = [airbyte_state(p, run_input.padding) for p in positions]
        began = time.monotonic()
        output = run_writer(start, data, stop, self.workdir / f"stderr-{number}.log")
        seconds = time.monotonic() - began
        echoed = (read_singer if self.executable == "target-recras" else read_airbyte)(output.lines)
        position_of = singer_position if self.executable == "target-recras" else airbyte_position
        echoed_positions = [position_of(state) for state in echoed.states]
        completed = output.returncode == 0
        problems = stop_problems(self.executable, output, echoed)
        problems += state_problems(
            run_input, echoed.states, expected, echoed_positions, self.position, completed=completed
        )
        self._cover(
            run_input,
            [p for s, p in zip(echoed.states, echoed_positions, strict=True) if s in expected],
            completed=completed,
        )
        customers = self.sandbox.customers()
        problems += recras_problems(self.model, customers, self.seed, completed=completed)
        problems += reject_problems(self.model, self._rejects())
        log = output.stderr + b"".join(output.lines).decode(errors="replace")
        pending = re.search(r"(\d+) customer create\(s\) were in flight", log)
        self.history.append(
            f"run {number}: {len(run_input.items)} lines, {workers} worker(s), {stop}: exit "
            f"{output.returncode} after {seconds:.1f} s"
            + ("" if output.took is None else f" ({output.took:.1f} s after the signal)")
            + ("" if output.held is None else f", {output.held} bytes unread at the signal")
            + f", echoed {echoed_positions}"
            + (f"; looked up {pending.group(1)} create(s) a kill left pending" if pending else "")
        )
        self.last_completed = completed
        assert not problems, self._report(problems, output, echoed)
        self.healthy = True

    def _cover(self, run_input: RunInput, positions: list[int], *, completed: bool) -> None:
        """Mark the records the run was sent, and those it handled for certain: before its
        last echoed STATE, or all of them when it exited 0 (the input ended and every record
        was written or rejected, docs/target.md "Crash safety and STATE")."""
        for item in run_input.items:
            if item.version is not None:
                item.version.sent = True
        items = run_input.items
        if positions and not completed:
            last = positions[-1]
            end = next(
                i for i, it in enumerate(items) if it.version is None and it.position == last
            )
            items = items[:end]
        elif not completed:
            items = []
        for item in items:
            if item.version is not None:
                item.version.covered = True
        if positions:
            self.position = max(self.position, positions[-1])

    def _rejects(self) -> list[dict[str, Any]]:
        path = self.workdir / "rejects.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line, parse_float=Decimal) for line in lines]

    def _random_changes(self) -> list[Change]:
        rnd = self.random
        kind = rnd.choice(("upsert", "upsert", "event"))
        return [Change(kind, rnd.randrange(len(KEYS)), data_number(rnd.randrange(DATA_COUNT)))]

    def _report(self, problems: list[str], output: RunOutput, echoed: Echoed) -> str:
        source = "\n".join(
            f"  {owner}{'' if owner in self.model.live or owner[0] == 'e' else ' (deleted)'}: "
            + "; ".join(
                f"{v.pos}{'' if v.valid else ' invalid'}{' sent' if v.sent else ''}"
                f"{' covered' if v.covered else ''} key={v.key!r} {v.data}"
                for v in versions
            )
            for owner, versions in sorted(self.model.versions.items())
        )
        log = "\n".join(
            line
            for line in output.stderr.splitlines()
            if "WARNING" in line or "CRITICAL" in line or "ERROR" in line
        )
        if self.executable == "destination-recras":
            log = "\n".join(
                line.decode(errors="replace")[:400]
                for line in output.lines
                if b'"WARN"' in line or b'"FATAL"' in line or b'"ERROR"' in line
            )
        return (
            f"\n{self.executable}, merge={self.merge}, id_min={self.id_min}, "
            f"{'log' if self.model.log else 'table'} source\nProblems:\n  "
            + "\n  ".join(problems)
            + "\nRuns:\n  "
            + "\n  ".join(self.history)
            + f"\nSource (position {self.position}):\n{source}\nLast run's warnings:\n{log[-6000:]}"
            + f"\nstderr tail:\n{output.stderr[-1500:]}"
        )


LIFE_SETTINGS = settings(
    max_examples=int(os.environ.get("WRITER_LIVES_EXAMPLES", "2")),
    stateful_step_count=int(os.environ.get("WRITER_LIVES_STEPS", "5")),
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate)
    + ((Phase.shrink,) if os.environ.get("WRITER_LIVES_SHRINK") == "1" else ()),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def life_of(executable: str, merge: str, id_min: str) -> type[WriterLife]:
    """The machine of one case. Its name differs per case, and with derandomize hypothesis
    seeds a machine defined at run time by its name: each case plays lives of its own."""
    name = f"Life_{executable}_{merge}_{id_min}".replace("-", "_")
    return type(name, (WriterLife,), {"executable": executable, "merge": merge, "id_min": id_min})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("merge", "id_min"), list(itertools.product(MERGE_READINGS, ID_MIN_READINGS))
)
@pytest.mark.parametrize("executable", EXECUTABLES)
def test_lives_of_runs_killed_and_stopped_lose_nothing_and_double_nothing(
    executable: str, merge: str, id_min: str
) -> None:
    run_state_machine_as_test(life_of(executable, merge, id_min), settings=LIFE_SETTINGS)


@pytest.mark.slow
@pytest.mark.parametrize("executable", EXECUTABLES)
def test_keyless_records_after_the_last_state_of_a_completed_run_are_created_once(
    executable: str,
) -> None:
    """A short life: a run that completes without a STATE after its last records (keyless
    ones, one without a name), then a run from its last STATE, which sends them again. The
    successful run used to drop every keyless id map entry at its end, so the rerun created
    those customers a second time (under "never"; without a name, under both readings)."""
    life = life_of(executable, "never", "inclusive")()
    rows = {0: Data(), 1: Data(), 2: Data()}
    life.begin("merge", "apply", log=False, rows=rows, events=[], seed=0)
    try:
        events = [Change("event", data=Data(naam="Renée")), Change("event", data=Data(naam=None))]
        # Records 1-3, STATE 3, the events 4 and 5; the rerun sends 4 and 5 again.
        life.run(events, 2, 3, False, False, Stop())
        assert life.position == 3
        life.run([Change("upsert", 3, Data())], 2, 3, False, True, Stop())
    finally:
        life.close()


# -- each check can fail ----------------------------------------------------------------------


def _customer(version: Version, klant_id: int, **changes: Any) -> dict[str, Any]:
    """The customer Recras would hold for ``version`` (the admin dump's shape)."""
    record = version.record()
    person = {"id": klant_id * 10, **record["contactpersonen"][0]}
    customer = {
        "id": klant_id,
        "naam": record.get("naam"),
        "plaats": record["plaats"],
        "provinciecode": record["provinciecode"],
        "contactpersonen": [person],
        "extra_fields": [
            {**f, "value": int(f["value"])} if f["type"] == "number" else f
            for f in record["extra_fields"]
        ],
    }
    customer.update(changes)
    return customer


def _model(*data: Data, log: bool = False) -> SourceModel:
    model = SourceModel(log=log)
    for item in data:
        model.apply(Change("upsert", 0, item))
    return model


SEED = [{"id": 1, "naam": "Seed", "contactpersonen": [{"email1": "seed@voorbeeld.nl"}]}]


def test_recras_check_accepts_covered_data_or_newer_and_refuses_older_doubled_or_foreign() -> None:
    model = _model(Data(plaats="Utrecht"), Data(plaats="Zwolle"), Data(plaats="'s-Hertogenbosch"))
    first, second, third = model.versions["k0"]
    for version in (first, second, third):
        version.sent = True
    second.covered = True
    assert recras_problems(model, [*SEED, _customer(second, 20)], SEED, completed=False) == []
    assert recras_problems(model, [*SEED, _customer(third, 20)], SEED, completed=False) == []
    older = recras_problems(model, [*SEED, _customer(first, 20)], SEED, completed=False)
    assert any("customer 20 holds" in p for p in older), older
    doubled = recras_problems(
        model, [*SEED, _customer(second, 20), _customer(third, 21)], SEED, completed=False
    )
    assert any("in Recras 2 times" in p for p in doubled), doubled
    missing = recras_problems(model, SEED, SEED, completed=False)
    assert any("covered by an echoed STATE" in p for p in missing), missing
    foreign = {"id": 30, "naam": "X", "contactpersonen": [{"email1": "x@elders.nl"}]}
    stray = recras_problems(model, [*SEED, _customer(second, 20), foreign], SEED, completed=False)
    assert any("belongs to no source record" in p for p in stray), stray
    changed_seed = [{**SEED[0], "naam": "Other"}, _customer(second, 20)]
    assert any(
        "seed customer 1 was changed" in p
        for p in recras_problems(model, changed_seed, SEED, completed=False)
    )


def test_recras_check_after_a_completed_run_wants_the_last_data_exactly() -> None:
    model = _model(Data(plaats="Utrecht"), Data(plaats="Zwolle"))
    first, last = model.versions["k0"]
    for version in (first, last):
        version.sent = version.covered = True
    assert recras_problems(model, [*SEED, _customer(last, 20)], SEED, completed=True) == []
    stale = recras_problems(model, [*SEED, _customer(first, 20)], SEED, completed=True)
    assert any("customer 20 holds" in p for p in stale), stale
    # A completed run whose last STATE did not cover the source's last record.
    last.covered = False
    uncovered = recras_problems(model, [*SEED, _customer(last, 20)], SEED, completed=True)
    assert any("not covered by the last STATE" in p for p in uncovered), uncovered
    # The e-mail's letter case and the name's Unicode form are not differences.
    last.covered = True
    case = _customer(last, 20)
    case["contactpersonen"][0]["email1"] = case["contactpersonen"][0]["email1"].upper()
    case["naam"] = "Klant e\u0301e\u0301n"
    assert recras_problems(model, [*SEED, case], SEED, completed=True) == []
    assert any(
        "customer 20 holds" in p
        for p in recras_problems(
            model, [*SEED, _customer(last, 20, naam="Klant EEN")], SEED, completed=True
        )
    )


def test_a_record_without_naam_keeps_the_name_an_earlier_record_wrote() -> None:
    model = _model(Data(naam="Renée"), Data(naam="Zoë & Co"), Data(naam=None))
    first, second, nameless = model.versions["k0"]
    for version in (first, second, nameless):
        version.sent = True
    assert names_possible(model.versions["k0"], nameless) == {"Renée", "Zoë & Co", None}
    first.covered = True
    assert names_possible(model.versions["k0"], nameless) == {"Renée", "Zoë & Co"}
    second.covered = True
    assert names_possible(model.versions["k0"], nameless) == {"Zoë & Co"}
    nameless.covered = True
    customer = _customer(nameless, 20, naam="Renée")
    problems = recras_problems(model, [*SEED, customer], SEED, completed=True)
    assert any("customer 20 holds" in p for p in problems), problems


def test_reject_check_wants_every_covered_reject_with_its_reason_and_no_valid_one() -> None:
    model = _model(Data(provinciecode=INVALID_PROVINCE), Data())
    invalid, valid = model.versions["k0"]
    invalid.sent = invalid.covered = True
    entry = {
        "stream": "klanten",
        "reason": f"'{INVALID_PROVINCE}' is not an ISO 3166-2 province code such as NL-NH",
        "field_path": "provinciecode",
        "record": invalid.record(),
    }
    assert reject_problems(model, [entry]) == []
    assert any("not in the rejects file" in p for p in reject_problems(model, []))
    assert any(
        "without its reason" in p for p in reject_problems(model, [{**entry, "field_path": None}])
    )
    cut = {**entry, "record": {**invalid.record(), "external_id": 7.5}}
    assert any("as sent" in p for p in reject_problems(model, [cut]))
    assert any(
        "valid or unknown" in p
        for p in reject_problems(model, [entry, {**entry, "record": valid.record()}])
    )


def test_state_check_refuses_backwards_unknown_and_a_completed_run_without_its_last() -> None:
    run_input = RunInput([Item(position=p) for p in (3, 5, 8)])
    expected = [singer_state(p, 0) for p in (3, 5, 8)]
    ok = state_problems(run_input, expected, expected, [3, 5, 8], 0, completed=True)
    assert ok == []
    back = state_problems(
        run_input, [expected[1], expected[0]], expected, [5, 3], 0, completed=False
    )
    assert any("moved backwards" in p for p in back), back
    across = state_problems(run_input, [expected[0]], expected, [3], 5, completed=False)
    assert any("moved backwards" in p for p in across), across
    unknown = state_problems(run_input, [singer_state(4, 0)], expected, [4], 0, completed=False)
    assert any("did not carry" in p for p in unknown), unknown
    short = state_problems(run_input, expected[:2], expected, [3, 5], 0, completed=True)
    assert any("did not end with the input's last STATE" in p for p in short), short


def _output(stop: Stop, returncode: int, lines: list[bytes], **fields: Any) -> RunOutput:
    values: dict[str, Any] = {"fragment": b"", "took": 1.0, "timed_out": False, "stderr": ""}
    values.update(fields)
    return RunOutput(stop, returncode, lines, **values)


def test_stop_check_wants_the_exit_in_time_whole_lines_and_the_trace() -> None:
    term = Stop(how="term")
    state = json.dumps({"position": 1}).encode() + b"\n"
    ok = _output(term, 143, [state])
    assert stop_problems("target-recras", ok, read_singer(ok.lines)) == []
    wrong = _output(term, 1, [state])
    assert any(
        "exited 1" in p for p in stop_problems("target-recras", wrong, read_singer(wrong.lines))
    )
    slow = _output(term, 143, [state], took=ENDS_WITHIN + 1)
    assert any("to end" in p for p in stop_problems("target-recras", slow, read_singer(slow.lines)))
    cut = _output(term, 143, [state], fragment=b'{"type": "STA')
    assert any(
        "cut short" in p for p in stop_problems("target-recras", cut, read_singer(cut.lines))
    )
    trace = {
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": 1,
            "error": {"message": "Stopped by SIGTERM", "failure_type": "transient_error"},
        },
    }
    airbyte = json.dumps({"type": "STATE", "state": airbyte_state(1, 0)}).encode() + b"\n"
    good = [airbyte, json.dumps(trace).encode() + b"\n"]
    stopped = _output(term, -signal.SIGTERM, good)
    assert stop_problems("destination-recras", stopped, read_airbyte(stopped.lines)) == []
    no_trace = _output(term, -signal.SIGTERM, good[:1])
    assert any(
        "no TRACE ERROR" in p
        for p in stop_problems("destination-recras", no_trace, read_airbyte(no_trace.lines))
    )
    late_state = _output(term, -signal.SIGTERM, [*good, airbyte])
    assert any(
        "after the TRACE" in p
        for p in stop_problems("destination-recras", late_state, read_airbyte(late_state.lines))
    )
    exit_143 = _output(term, 143, good)
    assert any(
        "not -15" in p
        for p in stop_problems("destination-recras", exit_143, read_airbyte(exit_143.lines))
    )
    invalid = _output(term, -signal.SIGTERM, [b'{"type": "STATE", "stat": {}}\n', *good])
    assert any(
        "not an Airbyte message" in p
        for p in stop_problems("destination-recras", invalid, read_airbyte(invalid.lines))
    )


def test_source_model_sends_what_changed_after_a_position_and_one_key_in_any_spelling() -> None:
    model = SourceModel(log=False)
    model.apply(Change("upsert", 0, Data(spelling=0)))
    model.apply(Change("upsert", 2, Data()))
    model.apply(Change("upsert", 0, Data(spelling=1, plaats="Zwolle")))
    model.apply(Change("event", 0, Data(naam=None)))
    model.apply(Change("delete", 2))
    sent = model.input_after(0, state_every=1, padding=0)
    records = [item.version for item in sent.items if item.version is not None]
    # One row for 7 and 7.0, its current version; the deleted row is not sent.
    assert [(v.owner, v.key, v.pos) for v in records] == [
        ("k0", Decimal("7.0"), 3),
        ("e0", None, 4),
    ]
    assert sent.state_positions() == [3, 4]
    assert [
        item.version.pos
        for item in model.input_after(3, state_every=5, padding=0).items
        if item.version
    ] == [4]
    # Without a final STATE the records after the last one come without a STATE after them.
    unfinished = model.input_after(0, state_every=5, padding=0, final_state=False)
    assert unfinished.state_positions() == [] and len(unfinished.items) == 2
    logged = SourceModel(log=True)
    for change in (Change("upsert", 0, Data()), Change("upsert", 0, Data(plaats="Zwolle"))):
        logged.apply(change)
    assert [
        item.version.pos
        for item in logged.input_after(0, state_every=5, padding=0).items
        if item.version
    ] == [1, 2]
    assert b"9007199254740993.0" in singer_lines(
        RunInput([Item(Version("k2", KEYS[2][0], 1, Data()))])
    )


#: A writer that gets SIGTERM wrong: it exits 0 and leaves half a line behind.
_CARELESS_WRITER = """
import signal, sys, time
def stop(signum, frame):
    sys.stdout.write('{"posi')
    sys.stdout.flush()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
sys.stdout.write('{"position": 1}\\n')
sys.stdout.flush()
time.sleep(30)
"""


def test_a_real_process_that_stops_carelessly_is_caught(tmp_path: Path) -> None:
    def start(stderr: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", _CARELESS_WRITER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )

    output = run_writer(start, b"", Stop(how="term"), tmp_path / "stderr.log")
    problems = stop_problems("target-recras", output, read_singer(output.lines))
    assert any("cut short" in p for p in problems), problems
    assert any("exited 0, not 143" in p for p in problems), problems
    assert output.took is not None and output.took < ENDS_WITHIN
