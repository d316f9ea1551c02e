"""Support for tests/properties/test_writer_lives.py: a source system, runs, checks.

* :class:`SourceModel` is the system a tap reads: a table of customers keyed by
  ``external_id`` (hostile keys: ``7`` spelt ``7.0``, two keys a float apart, NFC and NFD
  text, ``abc`` beside ``ABC``) plus keyless append-only events. Every change gets the next
  source *position*; :meth:`SourceModel.input_after` is what a tap sends after a position:
  the records changed since (the current row, or in log mode every change), with a STATE
  carrying the position after every few records.
* :func:`run_writer` runs the real ``target-recras`` or ``destination-recras`` on that input
  and ends the run as a :class:`Stop` says: on its own, by SIGKILL, or by SIGTERM (also while
  its stdout, shrunk to one page, is full and nobody reads it).
* The checks return problems (empty when the property holds), so that each can be shown to
  fail on a doctored outcome: :func:`recras_problems` (what Recras holds against what the
  echoed STATEs covered; after a completed run, every source record once with its last
  data), :func:`reject_problems`, :func:`state_problems` and :func:`stop_problems`.

How each source record is found in Recras: every e-mail address belongs to one source record
(``p<person>.<owner>@bron.example.com``, in any letter case), so a customer's main contact
names its *owner* (``k<n>`` for the key ``KEYS[n]``, ``e<n>`` for event ``n``).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import json
import math
import os
import re
import signal
import subprocess
import termios
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import msgspec

from recras_api.plugin.termination import GRACE_SECONDS
from support.airbyte import BIN, airbyte_message
from support.target import start_target

DESTINATION = str(BIN / "destination-recras")
#: How long a stopped run may take at most: its grace period plus a margin for a busy CI
#: machine (as in tests/airbyte/test_stop_signals.py). A deadlocked writer never ends.
ENDS_WITHIN = GRACE_SECONDS + 12
#: A run that is not stopped ends on its own well within this (tens of records).
RUN_TIMEOUT = 90.0
#: The stdout pipe of every run is shrunk to one page: a few STATEs fill it.
PIPE_SIZE = 4096

#: Source keys: each entry is one key, with the spellings a source may send it in.
KEYS: tuple[tuple[Any, ...], ...] = (
    (7, Decimal("7.0"), Decimal("7.00")),  # one number
    ("7",),  # a string: another key than the number 7
    (Decimal("9007199254740993.0"), 9007199254740993),
    (9007199254740992, Decimal("9007199254740992.0")),  # one float apart: another key
    (unicodedata.normalize("NFC", "Renée"), unicodedata.normalize("NFD", "Renée")),
    ("abc",),
    ("ABC",),  # keys keep their case: another key
    ("K-8",),
)
NAMES = ("Renée", "Zoë & Co", "KLANT ÉÉN", "Klant één")
PLAATSEN = ("Utrecht", "'s-Hertogenbosch", "Zwolle")
PROVINCES = ("NL-UT", "NL-NB", "NL-OV")
#: Not an ISO 3166-2 code: the record is rejected (field ``provinciecode``).
INVALID_PROVINCE = "Noord-Brabant"
VOORNAMEN = ("Renée", "Zoë", "Anna")
SEGMENTS = ("A", "B")
#: ``3`` and ``3.0`` are one number; the target sends the integer.
SCORES: tuple[int | Decimal, ...] = (3, Decimal("3.0"), 4)
EMAIL_CASES = ("lower", "upper", "title")
#: Extra bytes in some STATEs (taps keep large states): they fill a page-sized pipe sooner.
STATE_PADDING = 1000

#: Each field of :class:`Data` and its choices (a value repeated is drawn more often).
DATA_CHOICES: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("naam", (*NAMES, None)),
    ("decomposed", (False, True)),
    ("plaats", PLAATSEN),
    # About one record in seven is rejected.
    ("provinciecode", (*PROVINCES, *PROVINCES, INVALID_PROVINCE)),
    ("person", (0, 1, 2)),
    ("email_case", EMAIL_CASES),
    ("segment", SEGMENTS),
    ("score", SCORES),
    ("spelling", (0, 1, 2)),
)
#: How many different :class:`Data` there are (see :func:`data_number`).
DATA_COUNT = math.prod(len(choices) for _, choices in DATA_CHOICES)

_encode = msgspec.json.Encoder(decimal_format="number").encode
_OWNER = re.compile(r"^p\d\.((?:k|e)\d+)@bron\.example\.com$")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def folded(text: Any) -> str:
    """An e-mail address as Recras and the target compare it: trimmed, any letter case."""
    return (
        nfc(unicodedata.normalize("NFD", text.strip()).casefold()) if isinstance(text, str) else ""
    )


# -- the source system ---------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """What one version of a source record holds (hypothesis draws it)."""

    #: ``None``: the record has no ``naam`` field at all.
    naam: str | None = "Klant één"
    #: The name (and the contact's first name) sent decomposed (NFD), else composed (NFC).
    decomposed: bool = False
    plaats: str = "Utrecht"
    provinciecode: str = "NL-UT"
    #: Which of the record's contact persons is its main (and only) contact.
    person: int = 0
    email_case: str = "lower"
    segment: str = "A"
    score: int | Decimal = 3
    #: Which spelling of the source key (index into its ``KEYS`` entry, modulo).
    spelling: int = 0

    @property
    def valid(self) -> bool:
        return self.provinciecode != INVALID_PROVINCE


def data_number(number: int) -> Data:
    """The ``number``-th :class:`Data` (0 <= number < DATA_COUNT), each field one digit.

    Hypothesis draws one integer per record instead of one value per field: a life then
    stays within the number of choices hypothesis allows a test case.
    """
    values: dict[str, Any] = {}
    for name, choices in DATA_CHOICES:
        number, index = divmod(number, len(choices))
        values[name] = choices[index]
    return Data(**values)


@dataclass
class Version:
    """One change of a source record, as the source system has it."""

    owner: str
    #: The source key as spelt in this version; None for a keyless event.
    key: Any
    #: The source position of the change (also the record's ``gewijzigd`` column).
    pos: int
    data: Data
    #: Sent to the writer in some run (it may have been written).
    sent: bool = False
    #: Written (or rejected) for certain: before a STATE the writer echoed, or in a run
    #: that exited 0.
    covered: bool = False

    @property
    def valid(self) -> bool:
        return self.data.valid

    @property
    def stream(self) -> str:
        return "events" if self.key is None else "klanten"

    @property
    def email(self) -> str:
        address = f"p{self.data.person}.{self.owner}@bron.example.com"
        if self.data.email_case == "upper":
            return address.upper()
        return address.title() if self.data.email_case == "title" else address

    def _text(self, text: str) -> str:
        return unicodedata.normalize("NFD" if self.data.decomposed else "NFC", text)

    def record(self) -> dict[str, Any]:
        """The record a tap sends for this version."""
        record: dict[str, Any] = {}
        if self.key is not None:
            record["external_id"] = self.key
        if self.data.naam is not None:
            record["naam"] = self._text(self.data.naam)
        record.update(
            plaats=self.data.plaats,
            provinciecode=self.data.provinciecode,
            contactpersonen=[
                {
                    "voornaam": self._text(VOORNAMEN[self.data.person]),
                    "achternaam": f"Bron {self.owner}",
                    "email1": self.email,
                    "hoofdcontact": True,
                }
            ],
            extra_fields=[
                {"name": "segment", "type": "text", "value": self.data.segment},
                {"name": "score", "type": "number", "value": self.data.score},
            ],
            # The source's change column: not a Recras field, so never sent.
            gewijzigd=self.pos,
        )
        return record

    def shown(self) -> dict[str, Any]:
        """What Recras shows of this version, as :func:`customer_view` reads a customer."""
        return {
            "plaats": self.data.plaats,
            "provinciecode": self.data.provinciecode,
            "persons": 1,
            "email": folded(self.email),
            "voornaam": VOORNAMEN[self.data.person],
            "achternaam": f"Bron {self.owner}",
            "extra_fields": {"segment": self.data.segment, "score": int(self.data.score)},
        }


@dataclass(frozen=True)
class Change:
    """One change in the source between two runs (hypothesis draws it).

    ``upsert``: key ``KEYS[key]`` gets a new version (inserted, changed, or back after a
    delete); ``delete``: its row is deleted in the source (no record tells the writer);
    ``event``: a keyless event is appended (it never changes).
    """

    kind: str
    key: int = 0
    data: Data = Data()


@dataclass(frozen=True)
class Item:
    """One line a tap sends: a record (``version``) or a STATE at ``position``."""

    version: Version | None = None
    position: int = 0


@dataclass
class RunInput:
    """What a tap sends in one run, in order."""

    items: list[Item]
    padding: int = 0

    def state_positions(self) -> list[int]:
        return [item.position for item in self.items if item.version is None]


class SourceModel:
    """The source system: keyed rows (with deletes) and keyless events, with positions.

    In ``log`` mode a tap sends every change since a position (a change log, so one key
    may come several times in a run); otherwise the current version of each row changed
    since (a table with an ``updated`` column). Deleted rows are never sent again.
    """

    def __init__(self, *, log: bool) -> None:
        self.log = log
        self.position = 0
        self.versions: dict[str, list[Version]] = {}
        self.live: set[str] = set()
        self.events = 0

    def apply(self, change: Change) -> None:
        owner = f"k{change.key % len(KEYS)}"
        if change.kind == "delete":
            self.live.discard(owner)
            return
        if change.kind == "event":
            owner, key = f"e{self.events}", None
            self.events += 1
        else:
            spellings = KEYS[change.key % len(KEYS)]
            key = spellings[change.data.spelling % len(spellings)]
            self.live.add(owner)
        self.position += 1
        self.versions.setdefault(owner, []).append(Version(owner, key, self.position, change.data))

    def current(self) -> list[Version]:
        """The records the source holds now: each live row's last version, every event."""
        return [
            versions[-1]
            for owner, versions in self.versions.items()
            if owner in self.live or owner.startswith("e")
        ]

    def input_after(
        self, position: int, *, state_every: int, padding: int, final_state: bool = True
    ) -> RunInput:
        """What a tap sends when its last saved STATE says ``position``.

        A STATE after every ``state_every`` records, and (``final_state``) one after the last.
        """
        if self.log:
            changes = [v for versions in self.versions.values() for v in versions]
        else:
            changes = self.current()
        records = sorted((v for v in changes if v.pos > position), key=lambda v: v.pos)
        items: list[Item] = []
        for n, version in enumerate(records, start=1):
            items.append(Item(version))
            if n % state_every == 0:
                items.append(Item(position=version.pos))
        if not items or (final_state and items[-1].version is not None):
            items.append(Item(position=records[-1].pos if records else position))
        return RunInput(items, padding)


# -- what the writers read and write ---------------------------------------------------------


def singer_state(position: int, padding: int) -> dict[str, Any]:
    value: dict[str, Any] = {"position": position}
    if padding:
        value["history"] = "-" * padding
    return value


def airbyte_state(position: int, padding: int) -> dict[str, Any]:
    shared: dict[str, Any] = {"position": position}
    if padding:
        shared["history"] = "-" * padding
    streams = [
        {"stream_descriptor": {"name": name}, "stream_state": {"position": position}}
        for name in ("klanten", "events")
    ]
    return {"type": "GLOBAL", "global": {"shared_state": shared, "stream_states": streams}}


def singer_lines(run_input: RunInput) -> bytes:
    """SCHEMA klanten (source key external_id), SCHEMA events (keyless), RECORDs, STATEs."""
    schema = {"type": "object", "properties": {}}
    lines: list[dict[str, Any]] = [
        {
            "type": "SCHEMA",
            "stream": "klanten",
            "schema": schema,
            "key_properties": ["external_id"],
        },
        {"type": "SCHEMA", "stream": "events", "schema": schema, "key_properties": []},
    ]
    for item in run_input.items:
        if item.version is None:
            lines.append({"type": "STATE", "value": singer_state(item.position, run_input.padding)})
        else:
            record = item.version.record()
            lines.append({"type": "RECORD", "stream": item.version.stream, "record": record})
    return b"".join(_encode(line) + b"\n" for line in lines)


def airbyte_lines(run_input: RunInput) -> bytes:
    """Airbyte RECORDs of streams klanten and events, GLOBAL STATEs."""
    lines: list[dict[str, Any]] = []
    for item in run_input.items:
        if item.version is None:
            state = airbyte_state(item.position, run_input.padding)
            lines.append({"type": "STATE", "state": state})
        else:
            record = {
                "stream": item.version.stream,
                "data": item.version.record(),
                "emitted_at": 1_700_000_000_000 + item.version.pos,
            }
            lines.append({"type": "RECORD", "record": record})
    return b"".join(_encode(line) + b"\n" for line in lines)


def airbyte_catalog() -> dict[str, Any]:
    """klanten deduplicated by its primary key external_id; events appended, keyless."""

    def stream(name: str, mode: str, key: list[list[str]]) -> dict[str, Any]:
        definition = {
            "name": name,
            "json_schema": {"type": "object", "properties": {}},
            "supported_sync_modes": ["incremental"],
        }
        return {
            "stream": definition,
            "sync_mode": "incremental",
            "destination_sync_mode": mode,
            "primary_key": key,
        }

    return {
        "streams": [
            stream("klanten", "append_dedup", [["external_id"]]),
            stream("events", "append", []),
        ]
    }


# -- running a writer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    """How a run ends (hypothesis draws it).

    ``complete``: the input ends and the run ends on its own. ``kill``: SIGKILL ``delay``
    seconds after the ``after_states``-th STATE line (0: after the start), unless the run
    ended first. ``term``: stdin stays open, so only the signal ends the run; SIGTERM
    ``delay`` seconds after the first STATE line, or with ``full_pipe`` once stdout holds
    output nobody read (nearly a page, or what came within 1 s); then nobody reads for
    ``pause`` seconds (None: until the run ended).
    """

    how: str = "complete"
    after_states: int = 0
    delay: float = 0.0
    full_pipe: bool = False
    pause: float | None = None


@dataclass
class RunOutput:
    """What one run of a writer did."""

    stop: Stop
    returncode: int
    lines: list[bytes]
    #: Output after the last line break (a line cut short).
    fragment: bytes
    #: Seconds from the signal to the end of the process (SIGTERM runs).
    took: float | None
    #: The process did not end in time and was killed by the harness.
    timed_out: bool
    stderr: str
    #: Bytes unread in the stdout pipe when SIGTERM was sent (full-pipe stops).
    held: int | None = None


class _Reader:
    """Reads a process's stdout lines on a thread; counts the STATE lines."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.lines: list[bytes] = []
        self.fragment = b""
        self.states = 0
        self.done = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.started = True
            self._thread.start()

    def _run(self) -> None:
        try:
            for _ in range(1_000_000):  # bounded; ends at EOF long before
                line = self._stream.readline()
                if not line:
                    break
                with self._cond:
                    if not line.endswith(b"\n"):
                        self.fragment = line
                        continue
                    self.lines.append(line)
                    if _is_state(line):
                        self.states += 1
                    self._cond.notify_all()
        finally:
            with self._cond:
                self.done = True
                self._cond.notify_all()

    def wait_states(self, count: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.states >= count or self.done, timeout)

    def join(self, timeout: float) -> None:
        if self.started:
            self._thread.join(timeout)


def _is_state(line: bytes) -> bool:
    """A STATE line: an Airbyte STATE message, or (target-recras) any JSON object but one."""
    try:
        message = json.loads(line)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") in ("STATE", None)


def _buffered(fd: int) -> int:
    """Bytes waiting in a pipe."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def _feed(stdin: IO[bytes], data: bytes, close: bool) -> None:
    try:
        stdin.write(data)
        stdin.flush()
        if close:
            stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the run ended (killed) before it read everything


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


#: Starts a writer with binary stdin and stdout pipes and the given stderr file.
Start = Callable[[IO[bytes]], "subprocess.Popen[bytes]"]


def start_singer(config: Path) -> Start:
    """target-recras, started by tests/support/target.py's ``start_target``."""
    return lambda stderr: start_target(config, text=False, stderr=stderr)


def start_airbyte(config: Path, catalog: Path) -> Start:
    """``destination-recras write``, started the same way."""
    argv = [DESTINATION, "write", "--config", str(config), "--catalog", str(catalog)]
    return lambda stderr: subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def run_writer(start: Start, data: bytes, stop: Stop, stderr_path: Path) -> RunOutput:
    """Run a writer on ``data`` and end it as ``stop`` says; its stdout is a one-page pipe."""
    with stderr_path.open("wb") as stderr:
        process = start(stderr)
    assert process.stdin is not None and process.stdout is not None
    stdout_fd = process.stdout.fileno()
    fcntl.fcntl(stdout_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    feeder = threading.Thread(
        target=_feed, args=(process.stdin, data, stop.how != "term"), daemon=True
    )
    feeder.start()
    reader = _Reader(process.stdout)
    if not stop.full_pipe:
        reader.start()
    signalled: float | None = None
    held: int | None = None
    timed_out = False
    try:
        if stop.how == "kill":
            if stop.after_states:
                reader.wait_states(stop.after_states, RUN_TIMEOUT)
            _wait_until(lambda: process.poll() is not None, stop.delay)
            if process.poll() is None:
                process.kill()
        elif stop.how == "term":
            if stop.full_pipe:
                # The writer is running once output comes; then let the pipe fill up.
                _wait_until(lambda: _buffered(stdout_fd) > 0 or process.poll() is not None, 30)
                _wait_until(lambda: _buffered(stdout_fd) > PIPE_SIZE - 1024, 1.0)
            else:
                reader.wait_states(1, 30)
            time.sleep(stop.delay)
            held = _buffered(stdout_fd) if stop.full_pipe else None
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            if stop.full_pipe:
                if stop.pause is None:
                    _wait_until(lambda: process.poll() is not None, ENDS_WITHIN)
                else:
                    time.sleep(stop.pause)
                reader.start()
        try:
            process.wait(ENDS_WITHIN if signalled is not None else RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
    finally:
        took = None if signalled is None else time.monotonic() - signalled
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.start()
        reader.join(10)
        feeder.join(10)
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
    text = stderr_path.read_text(encoding="utf-8", errors="replace")
    return RunOutput(
        stop, process.returncode, reader.lines, reader.fragment, took, timed_out, text, held
    )


# -- reading what a run echoed ---------------------------------------------------------------


@dataclass
class Echoed:
    """The messages a run wrote, read as its executable speaks."""

    #: The STATEs, as written (Singer: the value; Airbyte: the state object).
    states: list[dict[str, Any]] = field(default_factory=list)
    #: Airbyte TRACE ERRORs' ``error`` objects, with the index of their line.
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    #: Index (in ``states`` order, by line) of each STATE's line.
    state_lines: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_singer(lines: list[bytes]) -> Echoed:
    """target-recras writes only STATEs to stdout, each line the state value (an object)."""
    echoed = Echoed()
    for n, line in enumerate(lines):
        try:
            value = json.loads(line)
        except ValueError:
            echoed.problems.append(f"stdout line {n + 1} is not JSON: {line[:200]!r}")
            continue
        if not isinstance(value, dict):
            echoed.problems.append(f"stdout line {n + 1} is not a state object: {line[:200]!r}")
            continue
        echoed.states.append(value)
        echoed.state_lines.append(n)
    return echoed


def read_airbyte(lines: list[bytes]) -> Echoed:
    """destination-recras: every line must be a valid Airbyte message."""
    echoed = Echoed()
    for n, line in enumerate(lines):
        try:
            message = airbyte_message(line.decode("utf-8"))
        except Exception as exc:  # any way a line fails the protocol
            echoed.problems.append(
                f"stdout line {n + 1} is not an Airbyte message ({exc}): {line[:200]!r}"
            )
            continue
        if message["type"] == "STATE":
            echoed.states.append(message["state"])
            echoed.state_lines.append(n)
        elif message["type"] == "TRACE" and message["trace"]["type"] == "ERROR":
            echoed.errors.append((n, message["trace"]["error"]))
    return echoed


def singer_position(state: dict[str, Any]) -> Any:
    return state.get("position")


def airbyte_position(state: dict[str, Any]) -> Any:
    return (state.get("global") or {}).get("shared_state", {}).get("position")


# -- the checks -----------------------------------------------------------------------------


def owner_of(customer: dict[str, Any]) -> str | None:
    """Which source record a customer belongs to, by its main contact's e-mail."""
    persons = customer.get("contactpersonen") or []
    match = _OWNER.match(folded(persons[0].get("email1"))) if persons else None
    return match.group(1) if match else None


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, (int, float, Decimal)) and value == int(value) else value


def customer_view(customer: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A customer's name (NFC, None for none) and the rest the checks compare."""
    persons = customer.get("contactpersonen") or [{}]
    main = persons[0]
    naam = customer.get("naam")
    extra = {f.get("name"): _number(f.get("value")) for f in customer.get("extra_fields") or []}
    return (nfc(naam) if isinstance(naam, str) and naam.strip() else None), {
        "plaats": customer.get("plaats"),
        "provinciecode": customer.get("provinciecode"),
        "persons": len(customer.get("contactpersonen") or []),
        "email": folded(main.get("email1")),
        "voornaam": nfc(main.get("voornaam") or ""),
        "achternaam": main.get("achternaam"),
        "extra_fields": extra,
    }


def names_possible(versions: list[Version], version: Version) -> set[str | None]:
    """The names Recras may show while it holds ``version``.

    A record without ``naam`` leaves the name as it is (a PUT carries only the fields the
    record has, docs/target.md "Partial updates"): then it is the name of an earlier version
    that was sent, no older than the last one a STATE covered (None if none was covered).
    """
    if version.data.naam is not None:
        return {nfc(version.data.naam)}
    named = [
        v
        for v in versions
        if v.pos < version.pos and v.sent and v.valid and v.data.naam is not None
    ]
    covered = [v.pos for v in named if v.covered]
    floor = max(covered, default=None)
    names: set[str | None] = {nfc(v.data.naam) for v in named if floor is None or v.pos >= floor}
    if floor is None:
        names.add(None)
    return names


def holds(versions: list[Version], version: Version, customer: dict[str, Any]) -> bool:
    """Does the customer hold the data of ``version``?"""
    naam, rest = customer_view(customer)
    return rest == version.shown() and naam in names_possible(versions, version)


def recras_problems(
    model: SourceModel,
    customers: list[dict[str, Any]],
    seed: list[dict[str, Any]],
    *,
    completed: bool,
) -> list[str]:
    """What Recras holds against what the writer was sent and what its STATEs covered.

    Always: the seed is untouched; every other customer belongs to a source record, at most
    one per source key or event; a record a STATE covered is there with its data or a newer
    version's (invariant 2). After a completed run (invariant 1): every record the source
    still has is in Recras once with its last data (its last valid one, when the last was
    rejected), and the count is the seed plus one per source record written.
    """
    problems: list[str] = []
    seed_by_id = {c["id"]: c for c in seed}
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for customer in customers:
        if customer["id"] in seed_by_id:
            if customer != seed_by_id[customer["id"]]:
                problems.append(f"seed customer {customer['id']} was changed: {customer}")
            continue
        owner = owner_of(customer)
        if owner is None or owner not in model.versions:
            problems.append(f"customer {customer['id']} belongs to no source record: {customer}")
            continue
        by_owner.setdefault(owner, []).append(customer)
    missing_seed = set(seed_by_id) - {c["id"] for c in customers}
    if missing_seed:
        problems.append(f"seed customers {sorted(missing_seed)} are gone")
    least = most = len(seed)
    for owner, versions in sorted(model.versions.items()):
        found = by_owner.get(owner, [])
        ids = [c["id"] for c in found]
        sent = [v for v in versions if v.sent and v.valid]
        covered = [v for v in sent if v.covered]
        least += bool(covered)
        most += bool(sent)
        if len(found) > 1:
            problems.append(f"{owner} is in Recras {len(found)} times: customers {ids}")
        if not found:
            if covered:
                problems.append(
                    f"{owner}: record {covered[-1].pos} was covered by an echoed STATE, but "
                    "no customer has it"
                )
            continue
        if not sent:
            problems.append(f"{owner} is in Recras ({ids}), but none of its valid records was sent")
            continue
        last = versions[-1]
        floor = covered[-1].pos if covered else 0
        if completed and last.valid and (owner in model.live or owner.startswith("e")):
            floor = last.pos  # the last data, exactly
        candidates = [v for v in sent if v.pos >= floor]
        for customer in found:
            if not any(holds(versions, v, customer) for v in candidates):
                naam, rest = customer_view(customer)
                problems.append(
                    f"{owner}: customer {customer['id']} holds naam={naam!r} {rest}, but the "
                    f"last record covered is {floor} and the records at or after it are "
                    + "; ".join(f"{v.pos}: {v.data}" for v in candidates)
                )
    if not least <= len(customers) <= most:
        problems.append(
            f"{len(customers)} customers in Recras; expected {least} to {most} (seed "
            f"{len(seed)}, plus one per source record written)"
        )
    if completed:
        for version in model.current():
            if not version.covered:
                problems.append(
                    f"{version.owner}: its last record {version.pos} is not covered by the "
                    "last STATE of a completed run"
                )
    return problems


def reject_problems(model: SourceModel, rejects: list[dict[str, Any]]) -> list[str]:
    """Invariant 5: every rejected record a STATE covered is in the rejects file, whole,
    with a reason at ``provinciecode``; and no valid record was rejected."""
    problems: list[str] = []
    by_pos = {v.pos: v for versions in model.versions.values() for v in versions}
    rejected: set[int] = set()
    for entry in rejects:
        record = entry.get("record") or {}
        version = by_pos.get(record.get("gewijzigd"))
        if version is None or version.valid:
            problems.append(f"a record was rejected that is valid or unknown: {entry}")
            continue
        rejected.add(version.pos)
        if entry.get("field_path") != "provinciecode" or INVALID_PROVINCE not in str(
            entry.get("reason")
        ):
            problems.append(f"record {version.pos} is rejected without its reason: {entry}")
        if record != version.record() or entry.get("stream") != "klanten":
            problems.append(f"record {version.pos} is not in the rejects file as sent: {entry}")
    for versions in model.versions.values():
        for version in versions:
            if version.covered and not version.valid and version.pos not in rejected:
                problems.append(
                    f"{version.owner}: record {version.pos} (invalid provinciecode) was covered "
                    "by an echoed STATE but is not in the rejects file"
                )
    return problems


def state_problems(
    run_input: RunInput,
    states: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    positions: list[Any],
    before: int,
    *,
    completed: bool,
) -> list[str]:
    """Invariant 3: each echoed STATE is one the input carried, never an older one than
    the last echoed (in this run or before); a completed run ends with the input's last.

    ``expected`` are the input's STATEs as the writer should echo them, ``positions`` the
    source position of each echoed STATE, ``before`` the position the run started from.
    """
    problems: list[str] = []
    last = before
    for state, position in zip(states, positions, strict=True):
        if state not in expected:
            problems.append(f"a STATE that the input did not carry was echoed: {state}")
            continue
        if position < last:
            problems.append(f"STATE moved backwards: {position} echoed after {last}")
        last = max(last, position)
    if completed and expected and (not states or states[-1] != expected[-1]):
        problems.append(
            f"the completed run did not end with the input's last STATE "
            f"({run_input.state_positions()[-1]}): echoed {positions}"
        )
    return problems


def stop_problems(executable: str, output: RunOutput, echoed: Echoed) -> list[str]:
    """Invariant 4, and the exits of the other runs: each as the stop says.

    Every run: each whole stdout line is a message of the executable's protocol. A
    completed run exits 0 and leaves no line cut short. A SIGTERM ends the run within
    ``ENDS_WITHIN`` seconds: target-recras exits 143, destination-recras dies by SIGTERM
    after a TRACE ERROR (transient_error) when its reader was back in time, with no STATE
    after it; no line is cut short.
    """
    problems = list(echoed.problems)
    stop = output.stop
    if output.timed_out:
        problems.append(f"the run did not end ({stop}); killed after the timeout")
    if stop.how == "kill":
        if output.returncode not in (0, -signal.SIGKILL):
            problems.append(f"a run that was killed (or ended first) exited {output.returncode}")
        return problems
    if output.fragment:
        problems.append(f"stdout ends with a line cut short: {output.fragment[:200]!r}")
    if "Traceback" in output.stderr:
        problems.append("a traceback on stderr")
    if stop.how == "complete":
        if output.returncode != 0:
            problems.append(f"a completed run exited {output.returncode}")
        return problems
    wanted = 143 if executable == "target-recras" else -signal.SIGTERM
    if output.returncode != wanted:
        problems.append(f"stopped by SIGTERM, it exited {output.returncode}, not {wanted}")
    if output.took is None or output.took > ENDS_WITHIN:
        problems.append(f"stopped by SIGTERM, it took {output.took} s to end (> {ENDS_WITHIN})")
    if executable == "destination-recras" and (stop.pause is not None or not stop.full_pipe):
        if not echoed.errors:
            problems.append("stopped by SIGTERM, the destination wrote no TRACE ERROR")
        else:
            line, error = echoed.errors[-1]
            if error.get("failure_type") != "transient_error" or "SIGTERM" not in str(
                error.get("message")
            ):
                problems.append(f"the TRACE ERROR does not say SIGTERM, transient: {error}")
            if any(n > line for n in echoed.state_lines):
                problems.append("a STATE came after the TRACE ERROR")
    return problems
