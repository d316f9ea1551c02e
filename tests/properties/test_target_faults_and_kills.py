"""Stateful property test of the real ``target-recras``: faults, kills and reruns lose nothing.

Each hypothesis example is a :class:`Scenario`: a fresh recras-sandbox (3 seeded customers,
plus customers that already exist in Recras with the name and main e-mail of some source
customers, so their records merge into them), a Singer input of new, changed (also renamed)
and repeated records (with a source key, or keyless; some naming a Recras ``id``), a fault
schedule for tests/support/fault_proxy.py (before and after the sandbox processed the request:
429/5xx answers, dropped connections, stalls past ``request_timeout``) and kill points
(SIGKILL of the target while the sandbox handles its n-th POST/PUT/GET), under the sandbox's
readings of the open points (a POST with a known name and main e-mail merges, or always
creates; ``id>=`` inclusive or exclusive) and list shapes (pages of 2, shuffled order,
persons in list items). The target runs through the proxy; after a kill it is rerun, as
Meltano would, with the input after the last STATE it emitted. Some examples then delete
customers in Recras, keep only the id map's ``.sqlite3`` file (no ``-wal``) and send the
whole input again (a full resync, with ``skip_unchanged`` off when customers were deleted, as
docs/target.md says): the deleted customers are created again; without deletions the resync
is a rerun of unchanged records, which are skipped.

Invariant after the final, successful run: every source customer is in Recras exactly once
with the data of its last record (one contact person, its main e-mail) -- in the pre-existing
customer when Recras merges, else in a customer of its own -- no other customer was created or
changed (customer count = seed + pre-existing + new source customers), and nothing was
rejected.

Bounded for CI: ``derandomize=True`` (the same scenarios every run), 12 small examples
(``STATEFUL_EXAMPLES=200`` to search longer locally), ``max_workers`` 1 (so "the n-th POST"
names the same request on every run), faults answered with ``Retry-After: 0``, and no
shrinking unless ``STATEFUL_SHRINK=1`` is set (shrinking reruns the target many times; use
it locally to minimise a failure). A failure prints the scenario, the proxy's request log
and each run's warnings.

The ``test_repro_*`` tests are minimal deterministic scenarios of failures this test found.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from support.fault_proxy import Exchange, Fault, FaultProxy, Rule
from support.target import TARGET, replay_from, target_config

from recras_sandbox.testing import SandboxProcess

SEED_CUSTOMERS = 3
#: Short, so that a stall past it costs little; long enough for a busy machine.
REQUEST_TIMEOUT = 1.5
STALL_SECONDS = REQUEST_TIMEOUT + 0.5
RUN_TIMEOUT = 90.0
FAULTS: dict[str, Fault] = {
    "before-429": Fault.before_status(429),
    "before-503": Fault.before_status(503),
    "before-drop": Fault.before_drop(),
    "after-502": Fault.after_status(502),
    "after-503": Fault.after_status(503),
    "after-504": Fault.after_status(504),
    "after-drop": Fault.after_drop(),
    "after-stall": Fault.after_stall(STALL_SECONDS),
}
PLAATSEN = ("Utrecht", "Groningen", "Zwolle")
ADRESSEN = ("Markt 1", "Dorpsstraat 2")
#: Data of the customers that already exist in Recras before the first run.
PRE_EXISTING_PLAATS, PRE_EXISTING_ADRES = "Vooraf", "Oude Weg 9"


@dataclass(frozen=True)
class Step:
    """One RECORD: source customer ``who`` with this data."""

    who: int
    plaats: str
    adres: str
    #: The record carries the customer's other name (a rename in the source system).
    renamed: bool = False

    @property
    def naam(self) -> str:
        return naam(self.who) + (" BV" if self.renamed else "")


@dataclass(frozen=True)
class Trigger:
    """The ``nth`` request with ``method`` (cumulative over all runs) gets ``what``."""

    method: str
    nth: int
    #: A key of FAULTS, or for kills "kill-before" / "kill-after" (the sandbox processed it).
    what: str


@dataclass(frozen=True)
class Scenario:
    """Everything one example does; its repr is the reproduction."""

    keyed: bool
    #: Source customers 0 .. merging-1 already exist in Recras (same name and main e-mail).
    merging: int
    steps: tuple[Step, ...]
    state_every: int
    faults: tuple[Trigger, ...] = ()
    kills: tuple[Trigger, ...] = ()
    #: The sandbox's readings of open points (recras_sandbox.readings): does a POST with an
    #: existing name and main e-mail merge ("name-email") or create ("never"); is id>=N
    #: "inclusive" or "exclusive".
    merge: str = "name-email"
    id_min: str = "inclusive"
    #: The target's max_workers; above 1 the n-th POST is not always the same request.
    workers: int = 1
    #: The sandbox's list shape: ``page_size`` (0: one page), shuffled order, persons in items.
    page_size: int = 0
    shuffle: bool = False
    list_persons: bool = False
    #: Pre-existing source customers whose every record names the Recras ``id``.
    by_id: frozenset[int] = frozenset()
    #: After the first sync succeeded, delete these source customers' customers in Recras,
    #: then send the whole input again (a full resync): they must be created again, once.
    resync: bool = False
    deleted: frozenset[int] = frozenset()

    def merges_into(self, who: int) -> bool:
        """True when source customer ``who``'s records must land in a pre-existing customer."""
        return lands_in_pre_existing(who, self.merge, self.merging, self.by_id)


def lands_in_pre_existing(who: int, merge: str, merging: int, by_id: frozenset[int]) -> bool:
    """Named by id, or merged by Recras into the customer with its name and e-mail."""
    return who in by_id or (merge == "name-email" and who < merging)


def naam(who: int) -> str:
    return f"Bron {who}"


def email(who: int) -> str:
    return f"bron{who}@example.com"


def record(step: Step, keyed: bool, klant_id: int | None = None) -> dict[str, Any]:
    """The RECORD of a step: one contact person, fixed per source customer."""
    data: dict[str, Any] = {
        "naam": step.naam,
        "plaats": step.plaats,
        "adres": step.adres,
        "contactpersonen": [
            {
                "voornaam": "Bron",
                "achternaam": str(step.who),
                "email1": email(step.who),
                "hoofdcontact": True,
            }
        ],
    }
    if klant_id is not None:
        data = {"id": klant_id, **data}
    if keyed:
        data = {"external_id": f"SRC-{step.who}", **data}
    return data


def input_lines(scenario: Scenario, pre_existing: dict[int, int]) -> list[str]:
    """SCHEMA, then RECORDs with a STATE ``{"done": n}`` after every ``state_every``.

    ``pre_existing`` gives the Recras id of the customers that records of ``by_id`` name.
    """
    keys = ["external_id"] if scenario.keyed else []
    schema = {"type": "object", "properties": {}}
    lines = [{"type": "SCHEMA", "stream": "klanten", "schema": schema, "key_properties": keys}]
    for n, step in enumerate(scenario.steps, start=1):
        klant_id = pre_existing[step.who] if step.who in scenario.by_id else None
        data = record(step, scenario.keyed, klant_id)
        lines.append({"type": "RECORD", "stream": "klanten", "record": data})
        if n % scenario.state_every == 0 or n == len(scenario.steps):
            lines.append({"type": "STATE", "value": {"done": n}})
    return [json.dumps(line) + "\n" for line in lines]


@dataclass
class RunLog:
    """What one target run did."""

    returncode: int
    killed: bool
    states: list[int]
    warnings: list[str]
    #: 0 for the first sync, 1 for the full resync after deletions.
    sync: int = 0

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.killed


@dataclass
class Outcome:
    """Everything a scenario left behind, for the invariant and for failure messages."""

    runs: list[RunLog] = field(default_factory=list)
    before: list[dict[str, Any]] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)
    proxy_log: str = ""
    #: Source customer -> id of the customer that existed with its name and e-mail.
    pre_existing: dict[int, int] = field(default_factory=dict)
    #: Customers deleted in Recras before the resync.
    deleted: list[int] = field(default_factory=list)

    def report(self) -> str:
        runs = "\n".join(
            f"  run {i}{' (resync)' if run.sync else ''}: exit {run.returncode}"
            f"{' (killed)' if run.killed else ''}, "
            f"STATEs {run.states}" + "".join(f"\n      {line}" for line in run.warnings)
            for i, run in enumerate(self.runs, start=1)
        )
        deleted = f"deleted before the resync: {self.deleted}\n" if self.deleted else ""
        return f"{deleted}runs:\n{runs}\nproxy log:\n{self.proxy_log}\nrejects: {self.rejects}"


class _Target:
    """Runs the real target; a kill hook SIGKILLs the current process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._killed = False

    def kill(self, exchange: Exchange) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait(10)
                self._killed = True

    def run(self, config: Path, input_text: str, number: int) -> RunLog:
        stdin = self.workdir / f"in-{number}.singer"
        stdout = self.workdir / f"out-{number}.singer"
        stderr = self.workdir / f"err-{number}.log"
        stdin.write_text(input_text, encoding="utf-8")
        with stdin.open("rb") as fin, stdout.open("wb") as fout, stderr.open("wb") as ferr:
            with self._lock:
                self._killed = False
                self._proc = subprocess.Popen(
                    [TARGET, "--config", str(config)],
                    stdin=fin,
                    stdout=fout,
                    stderr=ferr,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            try:
                returncode = self._proc.wait(RUN_TIMEOUT)
            finally:
                with self._lock:
                    if self._proc.poll() is None:
                        self._proc.kill()
                        self._proc.wait(10)
                    killed, self._proc = self._killed, None
        emitted = [
            json.loads(line)["done"]
            for line in stdout.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.endswith("\n")
        ]
        log = stderr.read_text(encoding="utf-8", errors="replace").splitlines()
        warnings = [
            line.split("| ", 3)[-1]
            for line in log
            if "| WARNING" in line or "| CRITICAL" in line or "| ERROR" in line
        ]
        if returncode != 0 and not killed:
            # A crash may not be a log line (a traceback): show how the log ended.
            warnings += ["(end of log)", *log[-8:]]
        return RunLog(returncode, killed, emitted, warnings)


def run_scenario(scenario: Scenario) -> Outcome:
    """Play the scenario: runs, kills and reruns until one run ends on its own."""
    outcome = Outcome()
    with (
        SandboxProcess(
            customers=SEED_CUSTOMERS,
            merge=scenario.merge,
            id_min=scenario.id_min,
            page_size=scenario.page_size,
            shuffle=scenario.shuffle,
            list_persons=scenario.list_persons,
        ) as sandbox,
        tempfile.TemporaryDirectory(prefix="stateful-target-") as tmp,
    ):
        workdir = Path(tmp)
        for who in range(scenario.merging):
            body = record(Step(who, PRE_EXISTING_PLAATS, PRE_EXISTING_ADRES), keyed=False)
            status, _, raw = sandbox.request("POST", "/api2/klanten", body)
            assert status == 201, raw
            outcome.pre_existing[who] = json.loads(raw)["id"]
        outcome.before = sandbox.customers()
        lines = input_lines(scenario, outcome.pre_existing)
        rules = [Rule(t.method, nth=t.nth, fault=FAULTS[t.what]) for t in scenario.faults]
        target = _Target(workdir)
        kill_rules = [
            Rule(
                t.method,
                nth=t.nth,
                fault=Fault.before_drop() if t.what == "kill-before" else Fault.after_drop(),
                hook=target.kill,
            )
            for t in scenario.kills
        ]
        # Kills first: a kill point that is also a fault point kills.
        with FaultProxy(sandbox.base_url, rules=kill_rules + rules) as proxy:
            config = target_config(
                workdir,
                sandbox.config(base_url=proxy.base_url),
                request_timeout=REQUEST_TIMEOUT,
                max_workers=scenario.workers,
            )
            # A customer deleted in Recras is not seen by skip_unchanged (docs/target.md): the
            # resync after deletions turns it off, as documented; without deletions it is a
            # rerun of unchanged records, which are skipped.
            resync_config = target_config(
                workdir,
                sandbox.config(base_url=proxy.base_url),
                request_timeout=REQUEST_TIMEOUT,
                max_workers=scenario.workers,
                skip_unchanged=not scenario.deleted,
            )
            for sync in range(2 if scenario.resync else 1):
                if sync and not outcome.runs[-1].succeeded:
                    break
                if sync:
                    _delete(sandbox, scenario.deleted, outcome)
                    # A successful run folds its WAL into the file (docs/target.md, "Which
                    # files to keep"): a pipeline that keeps only that file loses nothing.
                    for suffix in ("-wal", "-shm"):
                        (workdir / f"id-map.sqlite3{suffix}").unlink(missing_ok=True)
                done: int | None = None
                # Every run but the last ends in a kill, and each kill point fires once.
                for _ in range(len(scenario.kills) + 1):
                    run = target.run(
                        resync_config if sync else config,
                        replay_from(lines, done),
                        len(outcome.runs) + 1,
                    )
                    run.sync = sync
                    outcome.runs.append(run)
                    if run.states:
                        done = run.states[-1]
                    if not run.killed:
                        break
            outcome.proxy_log = proxy.describe()
        outcome.after = sandbox.customers()
        rejects_path = workdir / "rejects.jsonl"
        if rejects_path.exists():
            outcome.rejects = rejects_path.read_text(encoding="utf-8").splitlines()
    return outcome


def _delete(sandbox: SandboxProcess, deleted: frozenset[int], outcome: Outcome) -> None:
    """Delete the customers of source customers ``deleted`` in Recras (a user did, in the UI)."""
    before = {customer["id"] for customer in outcome.before}
    current = sandbox.customers()
    for who in sorted(deleted):
        ids = [c["id"] for c in current if c["id"] not in before and email(who) in emails_of(c)]
        # Not exactly one: the first sync already broke the invariant, which reports it.
        if len(ids) == 1:
            sandbox.delete_customer(ids[0])
            outcome.deleted.append(ids[0])


def invariant_problems(scenario: Scenario, outcome: Outcome) -> list[str]:
    """Everything that breaks the invariant (empty when the scenario went right)."""
    problems: list[str] = []
    final = outcome.runs[-1]
    if not final.succeeded:
        problems.append(f"the final run exited {final.returncode}")
    elif scenario.resync and final.sync != 1:
        problems.append("the resync did not run")
    if outcome.rejects:
        problems.append(f"{len(outcome.rejects)} valid record(s) were rejected")
    last: dict[int, Step] = {step.who: step for step in scenario.steps}
    before = {c["id"]: c for c in outcome.before}
    merged_ids = {outcome.pre_existing[who] for who in last if scenario.merges_into(who)}
    new_count = sum(1 for who in last if not scenario.merges_into(who))
    expected_count = len(before) + new_count
    if len(outcome.after) != expected_count:
        problems.append(f"{len(outcome.after)} customers in Recras, expected {expected_count}")
    for who, step in sorted(last.items()):
        if scenario.merges_into(who):
            found = [c for c in outcome.after if c["id"] == outcome.pre_existing[who]]
        else:
            # Found by its main e-mail: the name may have changed.
            found = [
                c for c in outcome.after if c["id"] not in before and email(who) in emails_of(c)
            ]
        if len(found) != 1:
            where = "as the pre-existing customer" if scenario.merges_into(who) else "as new"
            problems.append(f"{naam(who)} is in Recras {len(found)} times {where}, expected once")
            continue
        got = found[0]
        data = {"naam": got.get("naam"), "plaats": got.get("plaats"), "adres": got.get("adres")}
        wanted = {"naam": step.naam, "plaats": step.plaats, "adres": step.adres}
        if data != wanted:
            problems.append(
                f"{naam(who)} (id {got['id']}) has {data}, but its last record has {wanted}"
            )
        if emails_of(got) != [email(who)]:
            problems.append(f"{naam(who)} (id {got['id']}) has contact persons {emails_of(got)}")
    for customer in outcome.after:
        klant_id = customer["id"]
        if klant_id in before and klant_id not in merged_ids and before[klant_id] != customer:
            problems.append(f"customer {klant_id} ({customer.get('naam')}) was changed")
    return problems


def emails_of(customer: dict[str, Any]) -> list[str | None]:
    """The ``email1`` of each contact person of a customer (admin dump shape)."""
    return [person.get("email1") for person in customer.get("contactpersonen") or []]


def check(scenario: Scenario) -> None:
    """Run the scenario and assert the invariant, explaining any failure in full."""
    outcome = run_scenario(scenario)
    problems = invariant_problems(scenario, outcome)
    assert not problems, (
        f"\nScenario: {scenario!r}\nProblems:\n  " + "\n  ".join(problems) + f"\n{outcome.report()}"
    )


# ---------------------------------------------------------------- the property


#: How far to count the requests of each method for a fault or a kill: a scenario sends few
#: POSTs (one per new customer, plus retries and reruns), more PUTs and GETs; "*" counts all.
#: Counts run on over the reruns, so a later n-th request falls into a rerun.
LAST_NTH = {"POST": 3, "PUT": 4, "GET": 6, "*": 10}


def _triggers(
    names: list[str], methods: list[str], count: int
) -> st.SearchStrategy[tuple[Trigger, ...]]:
    trigger = st.sampled_from(methods).flatmap(
        lambda method: st.builds(
            Trigger,
            method=st.just(method),
            nth=st.integers(1, LAST_NTH[method]),
            what=st.sampled_from(names),
        )
    )
    return st.lists(trigger, max_size=count).map(tuple)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    keyed = draw(st.booleans())
    # Keyless records are only ever matched by Recras's merge; without it a keyless customer
    # sent again after a STATE is created again (docs/target.md), so keyless needs the merge.
    merge = draw(st.sampled_from(["name-email", "never"])) if keyed else "name-email"
    people = draw(st.integers(1, 3))
    # Mostly some: records that meet a customer Recras already has are where recovery errs.
    merging = draw(st.integers(1, people)) if draw(st.integers(0, 3)) else 0
    step = st.builds(
        Step,
        who=st.integers(0, people - 1),
        plaats=st.sampled_from(PLAATSEN),
        adres=st.sampled_from(ADRESSEN),
        # A keyless record's name is its identity, and a renamed record of a customer that
        # Recras would merge would not merge: renames only where the source key decides.
        renamed=st.booleans() if keyed else st.just(False),
    ).filter(lambda s: not (s.renamed and merge == "name-email" and s.who < merging))
    steps = tuple(draw(st.lists(step, min_size=1, max_size=6)))
    # At most one customer named by id: the others meet theirs by name and e-mail.
    by_id = frozenset(draw(st.lists(st.integers(0, merging - 1), max_size=1)) if merging else ())
    resync = draw(st.booleans())
    new = sorted({s.who for s in steps if not lands_in_pre_existing(s.who, merge, merging, by_id)})
    return Scenario(
        keyed=keyed,
        merging=merging,
        steps=steps,
        state_every=draw(st.integers(1, 3)),
        # POSTs are where a lost answer can double or lose a customer: fault them most.
        faults=draw(_triggers(list(FAULTS), ["POST", "POST", "PUT", "GET"], 4)),
        kills=draw(
            _triggers(["kill-before", "kill-after"], ["POST", "POST", "PUT", "GET", "*"], 2)
        ),
        merge=merge,
        id_min=draw(st.sampled_from(["inclusive", "exclusive"])),
        page_size=draw(st.sampled_from([0, 2])),
        shuffle=draw(st.booleans()),
        list_persons=draw(st.booleans()),
        by_id=by_id,
        resync=resync,
        deleted=frozenset(draw(st.lists(st.sampled_from(new))) if resync and new else ()),
    )


PHASES = (Phase.explicit, Phase.generate) + (
    (Phase.shrink,) if os.environ.get("STATEFUL_SHRINK") == "1" else ()
)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_faults_kills_and_reruns_lose_and_double_nothing(scenario: Scenario) -> None:
    check(scenario)


# ---------------------------------------------------------------- reproductions


def test_repro_lost_answer_recovery_takes_an_existing_customer_for_its_own_create() -> None:
    """Recras already has "Bron 0" (same name and main e-mail); the record
    with a new source key is answered 503 before Recras saw it. The look-before-retry found
    the existing customer, took it for its own create and never sent the record: its data
    (plaats Groningen) was lost, exit 0, STATE emitted."""
    check(
        Scenario(
            keyed=True,
            merging=1,
            steps=(Step(0, "Groningen", "Markt 1"),),
            state_every=1,
            faults=(Trigger("POST", 1, "before-503"),),
        )
    )


@pytest.mark.slow
def test_repro_crash_recovery_takes_an_existing_customer_for_a_pending_create() -> None:
    """Under the "never merge" reading: Recras already has "Bron 0" (same name and e-mail);
    the target is killed while its POST for source key SRC-0 is on the way (the POST never
    reaches Recras), so the id map holds a pending create. On the rerun the recovery looked
    the identity up among *all* customers, adopted the pre-existing customer 20 and PUT the
    record over it: an unrelated customer was overwritten and SRC-0 never created (the fix
    gives a pending create the floor of its POST)."""
    check(
        Scenario(
            keyed=True,
            merging=1,
            steps=(Step(0, "Groningen", "Markt 1"),),
            state_every=1,
            kills=(Trigger("POST", 1, "kill-before"),),
            merge="never",
        )
    )
