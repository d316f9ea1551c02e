"""Helpers for tests/properties/test_reader_lives.py: drive a reader's run, judge a life.

A *life* is a series of runs of one reader (``tap-recras`` or ``source-recras``) against one
sandbox, each resumed from the state the previous run left, as an orchestrator keeps it.
:func:`drive` runs the real executable once and interrupts it as a :class:`Plan` says
(SIGKILL or SIGTERM after some lines; SIGTERM while its stdout is a full 4 KiB pipe, with a
reader that comes back or never does); it returns the raw :class:`Outcome`. :class:`Life`
holds what the orchestrator knows between runs and checks each run's outcome against the
invariants below (each a property of the product, not an example):

1. a completed run emits every customer in the sandbox above the position it resumed from,
   exactly once, with the sandbox's data, and exactly their contact persons;
2. a customer listed by a completed run arrives in exactly one completed run;
3. no STATE says less than the position the run started from, and a completed run ends at
   the highest id it emitted (or where it started, if it emitted nothing);
4. no RECORD follows the last STATE of a run that ended on its own or by SIGTERM;
5. the state any run leaves is safe: every customer at or below it was delivered by a run;
6. a SIGTERM ends the run within the grace period (plus a margin) with the documented exit
   (tap: 143, after its last safe STATE; source: by the signal, after a transient TRACE
   ERROR); every line is whole (only a SIGKILLed run may end on a cut line) and parses;
7. (source-recras) every line is a valid Airbyte protocol message.

The checks are plain functions of the outcome and the sandbox's customers, so the tests can
feed them doctored outcomes and show that each one fails when its property does not hold.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import termios
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recras_api.plugin.termination import GRACE_SECONDS
from support.airbyte import airbyte_message

#: How long a stopped run may take at most: its grace period and a margin for a busy machine.
ENDS_WITHIN = GRACE_SECONDS + 12
#: A run that is not interrupted ends within this (a few dozen customers on loopback).
RUN_TIMEOUT = 90.0
#: The pipe size a full-pipe stop shrinks stdout to: a few records fill it.
SMALL_PIPE = 4096
#: How long a full-pipe stop waits for the writer to block before it stops the run anyway.
FILL_TIMEOUT = 20.0
KLANTEN = "klanten"
PERSONS = "contactpersonen"

Message = dict[str, Any]
Customer = dict[str, Any]


# ------------------------------------------------------------------ dialects


class TapDialect:
    """Singer, as tap-recras writes it; the state to resume from is the last STATE's value."""

    name = "tap-recras"
    #: tap-recras exits 128 + 15 after SIGTERM, so an orchestrator records no success.
    stopped_returncode = 128 + signal.SIGTERM

    @staticmethod
    def parse(line: str) -> Message:
        """One stdout line as a message (any line that is not a JSON object fails)."""
        message = json.loads(line)
        assert isinstance(message, dict) and "type" in message, f"not a Singer message: {line}"
        return message

    @staticmethod
    def record(message: Message) -> tuple[str, dict[str, Any]] | None:
        """(stream, data) of a RECORD, else None."""
        if message["type"] != "RECORD":
            return None
        return message["stream"], message["record"]

    @staticmethod
    def is_state(message: Message) -> bool:
        """Whether the message is a STATE."""
        return bool(message["type"] == "STATE")

    @classmethod
    def state_positions(cls, message: Message) -> list[int]:
        """The position(s) a STATE message says a run can resume from (0: from the start)."""
        return [cls.position(message["value"])]

    @staticmethod
    def next_state(previous: Any, messages: Sequence[Message]) -> Any:
        """What an orchestrator resumes from after these messages: the last STATE's value."""
        states = [m["value"] for m in messages if m["type"] == "STATE"]
        return states[-1] if states else previous

    @staticmethod
    def position(state: Any) -> int:
        """The customers' bookmark of a state (0 when there is none: every id is ahead)."""
        if state is None:
            return 0
        bookmark = (state.get("bookmarks") or {}).get(KLANTEN) or {}
        value = bookmark.get("replication_key_value")
        return 0 if value is None else int(value)

    @staticmethod
    def check_stop_ending(messages: Sequence[Message]) -> None:
        """A stopped tap writes its buffered records, then the last safe STATE.

        The SDK writes no STATE equal to the one it wrote last: a stop before the state
        changed leaves the echo of the input state as the last one, and a SCHEMA may follow.
        """
        ending = [m for m in messages if m["type"] != "SCHEMA"]
        assert ending, "a stopped tap wrote no STATE"
        assert ending[-1]["type"] == "STATE", f"last message: {ending[-1]}"


class SourceDialect:
    """Airbyte, as source-recras writes it; the state is the last STATE per stream."""

    name = "source-recras"
    #: source-recras dies by the signal itself: PyAirbyte takes -15 for the cancel it asked for.
    stopped_returncode = -signal.SIGTERM

    @staticmethod
    def parse(line: str) -> Message:
        """One stdout line, validated against the Airbyte protocol models."""
        return airbyte_message(line)

    @staticmethod
    def record(message: Message) -> tuple[str, dict[str, Any]] | None:
        """(stream, data) of a RECORD, else None."""
        if message["type"] != "RECORD":
            return None
        return message["record"]["stream"], message["record"]["data"]

    @staticmethod
    def is_state(message: Message) -> bool:
        """Whether the message is a STATE."""
        return bool(message["type"] == "STATE")

    @staticmethod
    def _value(stream_state: dict[str, Any]) -> int:
        value = stream_state.get("replication_key_value")
        return 0 if value is None else int(value)

    @classmethod
    def state_positions(cls, message: Message) -> list[int]:
        """The position a STATE message carries for its stream."""
        return [cls._value(message["state"]["stream"]["stream_state"])]

    @staticmethod
    def next_state(previous: Any, messages: Sequence[Message]) -> Any:
        """The last STATE message's ``state`` per stream, as PyAirbyte keeps them."""
        kept: dict[str, Any] = {
            s["stream"]["stream_descriptor"]["name"]: s for s in (previous or [])
        }
        for message in messages:
            if message["type"] == "STATE":
                state = message["state"]
                kept[state["stream"]["stream_descriptor"]["name"]] = state
        return list(kept.values()) or None

    @classmethod
    def position(cls, state: Any) -> int:
        """The position of a kept state; every stream's entry must say the same."""
        if not state:
            return 0
        positions = {cls._value(s["stream"]["stream_state"]) for s in state}
        assert len(positions) == 1, f"the streams' states disagree: {state}"
        return positions.pop()

    @staticmethod
    def check_stop_ending(messages: Sequence[Message]) -> None:
        """A stopped source ends with a TRACE ERROR that says the stop is transient."""
        assert messages, "a stopped source wrote nothing at all"
        last = messages[-1]
        assert last["type"] == "TRACE" and last["trace"]["type"] == "ERROR", f"last: {last}"
        error = last["trace"]["error"]
        assert error["failure_type"] == "transient_error", error
        assert "SIGTERM" in error["message"], error


Dialect = TapDialect | SourceDialect


# ------------------------------------------------------------------ driving a run


@dataclass(frozen=True)
class Plan:
    """How one run ends.

    ``complete``: it is read to the end. ``kill`` / ``term``: SIGKILL / SIGTERM after
    ``after_lines`` lines were read and ``delay`` seconds more. ``term-full``: stdout is a
    pipe of :data:`SMALL_PIPE` bytes; after ``after_lines`` lines nobody reads, and once the
    writer blocks on the full pipe the run gets SIGTERM; the reader comes back after
    ``pause`` seconds, or never (``pause`` None: the run must end by itself).
    """

    kind: str
    after_lines: int = 0
    delay: float = 0.0
    pause: float | None = 0.0

    @property
    def signal(self) -> int | None:
        """The signal this plan sends."""
        return {"kill": signal.SIGKILL, "term": signal.SIGTERM, "term-full": signal.SIGTERM}.get(
            self.kind
        )


@dataclass
class Outcome:
    """What the reader of one run saw."""

    plan: Plan
    returncode: int
    #: Every whole line the reader read, in order (without the line break).
    lines: list[str]
    #: Bytes after the last line break (a line cut short), if the reader read any.
    tail: bytes = b""
    #: Whether the signal of the plan was sent (the run may have ended before).
    signalled: bool = False
    #: Seconds from the signal to the end of the process.
    stop_took: float | None = None
    #: The reader stopped reading for good before the run ended.
    reader_gone: bool = False
    #: The stop was not sent: the run had sent its last request already.
    too_late: bool = False
    stderr: str = ""

    @property
    def reader_returns(self) -> bool:
        """Whether the reader read everything the run wrote."""
        return not self.reader_gone


class _PipeLines:
    """Lines from a raw pipe, with deadlines (no buffered reader hides bytes from select)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the run wrote nothing more before the deadline")
        ready, _, _ = select.select([self.fd], [], [], remaining)
        if ready:
            data = os.read(self.fd, 65536)
            if data:
                self.buffer += data
            else:
                self.eof = True

    def readline(self, deadline: float) -> bytes | None:
        """The next whole line (with its break), or None at the end of the output."""
        for _ in range(1_000_000):  # bounded: each pass reads or reaches the deadline
            if b"\n" in self.buffer:
                line, _, self.buffer = self.buffer.partition(b"\n")
                return line + b"\n"
            if self.eof:
                return None
            self._fill(deadline)
        raise AssertionError("unreachable: the line reader went round too often")

    def rest(self, deadline: float) -> bytes:
        """Everything up to the end of the output."""
        for _ in range(1_000_000):
            if self.eof:
                break
            self._fill(deadline)
        data, self.buffer = self.buffer, b""
        return data


def _pipe_writer_blocked(pid: int, fd: int, last: list[int]) -> bool:
    """Whether a thread of ``pid`` waits in a write to a pipe (the kernel's wchan).

    Where wchan says nothing (a kernel that hides it), a pipe that holds most of its
    capacity and did not change since the last look counts as full.
    """
    saw_wchan = False
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            wchan = (task / "wchan").read_text().strip()
        except OSError:
            continue
        if wchan not in ("", "0"):
            saw_wchan = True
        if "pipe_write" in wchan:
            return True
    if saw_wchan:
        return False
    queued = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, queued)
    blocked = queued[0] >= SMALL_PIPE // 2 and last == [queued[0]]
    last[:] = [queued[0]]
    return blocked


def drive(
    args: Sequence[str],
    env: dict[str, str],
    stderr_path: Path,
    plan: Plan,
    still_working: Callable[[], bool] | None = None,
) -> Outcome:
    """Run ``args`` once as ``plan`` says; every wait is bounded.

    ``still_working`` tells whether the run provably has work left (a request it has not
    sent yet): a ``term`` stop is sent only then, so that it lands inside the run and not in
    the moments after its last output while the interpreter shuts down, where CPython has
    put the default handlers back and a stop ends the process by the signal without the
    documented exit. Without it, the stop is sent anyway.
    """
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, bufsize=0
        )
    try:
        outcome = _drive(process, plan, still_working)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    outcome.returncode = process.returncode
    outcome.stderr = stderr_path.read_text(errors="replace")
    return outcome


def _drive(
    process: subprocess.Popen[bytes], plan: Plan, still_working: Callable[[], bool] | None
) -> Outcome:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    if plan.kind == "term-full":
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, SMALL_PIPE)
    pipe = _PipeLines(fd)
    outcome = Outcome(plan, returncode=0, lines=[])
    start = time.monotonic()
    if plan.kind != "complete":
        for _ in range(plan.after_lines):
            line = pipe.readline(start + RUN_TIMEOUT)
            if line is None:
                break
            outcome.lines.append(line[:-1].decode())
        time.sleep(plan.delay)
    if plan.kind == "term-full":
        last: list[int] = []
        deadline = time.monotonic() + FILL_TIMEOUT
        while process.poll() is None and not _pipe_writer_blocked(process.pid, fd, last):
            assert time.monotonic() < deadline, "the run never blocked on its full stdout"
            time.sleep(0.02)
    stopped = 0.0
    if plan.kind == "term" and still_working is not None and not still_working():
        outcome.too_late = True
    # A run that closed its stdout is ending on its own: a signal now would say nothing.
    elif plan.signal is not None and process.poll() is None and not pipe.eof:
        process.send_signal(plan.signal)
        stopped = time.monotonic()
        outcome.signalled = True
    if plan.kind == "term-full" and outcome.signalled:
        if plan.pause is None:
            # The reader never comes back: the run must end by itself, its output unread.
            outcome.reader_gone = True
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=ENDS_WITHIN)
            outcome.stop_took = time.monotonic() - stopped
            return outcome
        time.sleep(plan.pause)
    limit = (stopped + ENDS_WITHIN) if outcome.signalled else (start + RUN_TIMEOUT)
    try:
        rest = pipe.rest(limit)
    except TimeoutError:
        rest = pipe.buffer
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=max(0.1, limit - time.monotonic()))
    if outcome.signalled:
        outcome.stop_took = time.monotonic() - stopped
    *whole, outcome.tail = rest.split(b"\n")
    outcome.lines += [line.decode() for line in whole]
    return outcome


# ------------------------------------------------------------------ the life


def expected_persons(customers: Sequence[Customer]) -> list[dict[str, Any]]:
    """The contactpersonen records of ``customers``: each person with its link and position."""
    rows = []
    for customer in customers:
        for position, person in enumerate(customer["contactpersonen"]):
            main = person.get("hoofdcontact")
            rows.append(
                {
                    **person,
                    "klant_id": customer["id"],
                    "positie": position,
                    "hoofdcontact": main if isinstance(main, bool) else position == 0,
                }
            )
    return rows


def _canonical(rows: Sequence[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(row, sort_keys=True) for row in rows)


@dataclass
class Life:
    """What an orchestrator keeps between the runs of one reader, and the checks of each run.

    ``streams`` are the selected streams. ``state`` is what the next run resumes from;
    ``delivered`` every customer id any run's read output carried, ``completed`` those that
    completed runs carried.
    """

    dialect: Dialect
    streams: frozenset[str]
    state: Any = None
    delivered: set[int] = field(default_factory=set)
    completed: set[int] = field(default_factory=set)
    #: One line per run: its plan, how it ended and where it left the position.
    history: list[str] = field(default_factory=list)

    @property
    def position(self) -> int:
        """The position the next run resumes from (0: the start)."""
        return self.dialect.position(self.state)

    def after(self, outcome: Outcome, customers: Sequence[Customer]) -> str:
        """Check one run against the invariants; keep its state. Returns how it ended.

        ``customers`` is the sandbox's dump when the run ended (nothing changed during it).
        """
        start = self.position
        ending = self._ending(outcome)
        messages = self._messages(outcome)
        records = [r for r in map(self.dialect.record, messages) if r is not None]
        ids = self._delivered_ids(records)
        # 3. No STATE goes back before where the run started, nor before an earlier STATE.
        positions = [
            p for m in messages if self.dialect.is_state(m) for p in self.dialect.state_positions(m)
        ]
        for before, after in zip([start, *positions], positions, strict=False):
            assert after >= before, f"a STATE went back from {before} to {after}: {positions}"
        # 4. Whoever read to the end has every record covered by a later STATE.
        if ending in ("completed", "stopped") and outcome.reader_returns:
            types = [m["type"] for m in messages]
            if "RECORD" in types:
                last_record = max(i for i, kind in enumerate(types) if kind == "RECORD")
                assert "STATE" in types[last_record:], (
                    f"RECORD after the last STATE (message {last_record} of {len(types)})"
                )
        if ending == "stopped" and outcome.reader_returns:
            self.dialect.check_stop_ending(messages)
        if ending == "completed":
            self._check_completed(start, records, ids, customers)
        state = self.dialect.next_state(self.state, messages)
        end = self.dialect.position(state)
        assert end >= start, f"the run left position {end}, below its start {start}"
        if ending == "completed":
            # 3. A completed run moves the position to the highest id it emitted.
            assert end == max(ids, default=start), (
                f"completed run from {start} emitted up to {max(ids, default=None)} "
                f"but left position {end}"
            )
        self.delivered |= ids
        # 5. Resuming from the state loses no customer.
        lost = sorted(
            c["id"] for c in customers if c["id"] <= end and c["id"] not in self.delivered
        )
        assert not lost, f"state {end} after a {ending} run skips undelivered customers {lost}"
        self.state = state
        kinds = Counter(m["type"] for m in messages)
        late = " (too late to stop: not sent)" if outcome.too_late else ""
        line = (
            f"{outcome.plan}{late}: {ending} (exit {outcome.returncode}), {len(ids)} customers, "
            f"position {start} -> {end}; read {dict(kinds)}"
        )
        self.history.append(line)
        return ending

    def _ending(self, outcome: Outcome) -> str:
        """How the run ended: completed, killed or stopped (6. as documented, in time)."""
        plan = outcome.plan
        where = f"{self.dialect.name} ({plan}): {outcome.stderr[-1500:]}"
        if outcome.signalled and plan.signal == signal.SIGTERM:
            assert outcome.stop_took is not None and outcome.stop_took < ENDS_WITHIN, (
                f"SIGTERM took {outcome.stop_took} s to end the run; {where}"
            )
        if outcome.returncode == 0 and not (outcome.signalled and plan.signal == signal.SIGTERM):
            # Also a run whose kill came too late, or whose stop was not sent (too late).
            ending = "completed"
        elif outcome.signalled and plan.signal == signal.SIGKILL:
            assert outcome.returncode == -signal.SIGKILL, f"exit {outcome.returncode}; {where}"
            ending = "killed"
        elif outcome.signalled and plan.signal == signal.SIGTERM:
            expected = self.dialect.stopped_returncode
            assert outcome.returncode == expected, (
                f"exit {outcome.returncode} after SIGTERM, expected {expected}; {where}"
            )
            ending = "stopped"
        else:
            raise AssertionError(f"exit {outcome.returncode} without a stop; {where}")
        # 6. Every line is whole: only a SIGKILLed run may end on a cut line.
        if ending != "killed":
            assert outcome.tail == b"", f"a {ending} run ended on a cut line: {outcome.tail!r}"
        return ending

    def _messages(self, outcome: Outcome) -> list[Message]:
        """6./7. Every whole line parses (as the dialect's protocol says)."""
        messages = []
        for number, line in enumerate(outcome.lines, start=1):
            try:
                messages.append(self.dialect.parse(line))
            except Exception as exc:
                raise AssertionError(f"line {number} is not a whole message: {line!r}") from exc
        return messages

    def _delivered_ids(self, records: Sequence[tuple[str, dict[str, Any]]]) -> set[int]:
        """The customers a run's records carry: its customers, else its persons' customers."""
        streams = {stream for stream, _ in records}
        assert streams <= self.streams, f"records of unselected streams: {streams - self.streams}"
        if KLANTEN in self.streams:
            return {data["id"] for stream, data in records if stream == KLANTEN}
        return {data["klant_id"] for stream, data in records if stream == PERSONS}

    def _check_completed(
        self,
        start: int,
        records: Sequence[tuple[str, dict[str, Any]]],
        ids: set[int],
        customers: Sequence[Customer],
    ) -> None:
        """1. and 2.: exactly the customers above the start, once, as the sandbox has them."""
        ahead = [c for c in customers if c["id"] > start]
        want = {c["id"] for c in ahead}
        assert all(c["contactpersonen"] for c in ahead), "a customer without contact persons"
        missing, extra = sorted(want - ids), sorted(ids - want)
        assert not missing, f"completed run from {start} lost customers {missing}"
        assert not extra, f"completed run from {start} sent customers it should not: {extra}"
        if KLANTEN in self.streams:
            emitted = [data for stream, data in records if stream == KLANTEN]
            counts = Counter(data["id"] for data in emitted)
            repeated = sorted(i for i, n in counts.items() if n > 1)
            assert not repeated, f"customers emitted more than once in one run: {repeated}"
            by_id = {c["id"]: c for c in ahead}
            for data in emitted:
                sandbox = {k: v for k, v in by_id[data["id"]].items() if k != "extra_fields"}
                assert data == sandbox, f"customer {data['id']}: {data} != sandbox {sandbox}"
        if PERSONS in self.streams:
            got = _canonical([data for stream, data in records if stream == PERSONS])
            wanted = _canonical(expected_persons(ahead))
            assert got == wanted, (
                f"contact persons differ: missing {sorted((wanted - got).elements())[:3]}, "
                f"extra {sorted((got - wanted).elements())[:3]}"
            )
        again = sorted(ids & self.completed)
        assert not again, f"customers already sent by an earlier completed run: {again}"
        self.completed |= ids
