"""One corpus of hostile strings and shapes (hostile_corpus.json beside this file), through all
four executables, each a real process.

The readers (tap-recras, source-recras) get the corpus from a hostile server, as list items
and as customer details; the writers (target-recras, destination-recras) get it as input
records and write into a real sandbox. For every executable: no crash and no traceback;
every output line whole and valid (Singer JSON, or the Airbyte protocol's own models); no
raw control character, escape, bidi override or lone surrogate in its log (stderr, LOG
messages), and no log line forged by a value; a value that cannot be sent is repaired with a
warning naming the record and field (readers: a lone surrogate becomes U+FFFD) or rejected to
the rejects file (writers); a customer listed twice is sent once; ids outside 1..2**63-1 stop
a reader with an error naming them; nothing is created twice (NFC and NFD spellings of one
key, 7 and 7.0 are one key; 9007199254740993.0 and 9007199254740992 are two).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.airbyte import BIN, airbyte_message, configured_catalog, write_json
from support.hostile_server import HostileServer, Reply, Seen
from support.target import SECRET_KEY, TARGET

from tap_recras.testing import tap_command

pytestmark = pytest.mark.slow

CORPUS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "hostile_corpus.json").read_text(encoding="utf-8")
)
MAX_ID = 2**63 - 1
API_KEY = "hostile-corpus-key-8c41"
#: Text the corpus puts after a line break: a log that writes it raw starts a forged line.
FORGED = "CRITICAL forged line"
#: What must never reach a log as it is: controls (but the line feed that ends a line), DEL
#: and C1 controls, line and paragraph separators, bidi overrides and isolates, surrogates.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: How an encoding failure shows when nobody caught it: the exception's name or message.
ENCODING_FAILURES = (
    "UnicodeEncodeError",
    "UnicodeDecodeError",
    "surrogates not allowed",
    "codec can't",
)
SINGER_TYPES = {"SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH"}


@dataclass(frozen=True)
class Text:
    """One hostile string of the corpus."""

    name: str
    value: str

    @property
    def broken(self) -> bool:
        """It holds a lone surrogate: UTF-8 cannot carry it."""
        return bool(LONE_SURROGATE.search(self.value))

    @property
    def repaired(self) -> str:
        """What a reader sends for it: U+FFFD in place of each lone surrogate."""
        return LONE_SURROGATE.sub("\ufffd", self.value)


def _texts() -> list[Text]:
    texts = []
    for entry in CORPUS["strings"]:
        value = entry["repeat"] * entry["times"] if "repeat" in entry else entry["value"]
        texts.append(Text(entry["name"], value))
    return texts


TEXTS = _texts()


def _escaped(name: str) -> str:
    """``name`` as a log line shows it: every unsafe character as its Python escape."""
    return "".join(repr(c)[1:-1] if c == "\n" or UNSAFE.match(c) else c for c in name)


def _output_lines(stdout: bytes) -> list[str]:
    """stdout's lines: each whole (the output ends with a line feed) and valid UTF-8.

    Split at line feeds only: U+0085 and U+2028 are text inside a JSON string, not line ends.
    """
    if not stdout:
        return []
    assert stdout.endswith(b"\n"), f"the last line is cut short: {stdout[-300:]!r}"
    return [line.decode("utf-8") for line in stdout[:-1].split(b"\n")]


def _assert_safe_log(text: str, where: str) -> None:
    """No unsafe character, no forged line, no traceback in a log."""
    unsafe = sorted({m.group() for m in UNSAFE.finditer(text.replace("\n", ""))})
    assert not unsafe, f"{where} holds raw {unsafe!r}: {text[-2000:]}"
    forged = [line for line in text.split("\n") if line.lstrip().startswith(FORGED)]
    assert not forged, f"{where} has a forged line: {forged}"
    assert "Traceback" not in text, f"{where} has a traceback: {text[-3000:]}"
    failed = [word for word in ENCODING_FAILURES if word in text]
    assert not failed, f"{where} reports an encoding failure: {failed}"


def _stderr_text(stderr: bytes) -> str:
    text = stderr.decode("utf-8")  # strict: a lone surrogate has no UTF-8 form
    assert API_KEY not in text and SECRET_KEY not in text
    return text


# --------------------------------------------------------------------------- readers


@dataclass
class ReaderCorpus:
    """The customers the hostile server lists, and what a reader must send for them."""

    listed: list[dict[str, Any]] = field(default_factory=list)
    details: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: customer id -> expected naam (None: none sent).
    naam: dict[int, str | None] = field(default_factory=dict)
    #: customer id -> expected plaats, where the list gave one.
    plaats: dict[int, str] = field(default_factory=dict)
    #: customer id -> [(person id, expected voornaam / email1)].
    persons: dict[int, list[tuple[int, str | None]]] = field(default_factory=dict)
    #: (customer id, person id, Text) of each broken text.
    broken: list[tuple[int, int, Text]] = field(default_factory=list)

    def detail(self, request: Seen) -> Reply:
        klant_id = int(request.path.rsplit("/", 1)[1])
        return Reply.json(self.details[klant_id])


def _reader_corpus() -> ReaderCorpus:
    corpus = ReaderCorpus()
    hostile_names = CORPUS["property_names"]
    first, second, third = CORPUS["list_ids"]
    assert second == third, "the corpus lists one customer twice"
    # A customer without naam, without contact persons.
    corpus.listed.append({"id": first})
    corpus.details[first] = {"id": first, "contactpersonen": []}
    corpus.naam[first] = None
    corpus.persons[first] = []
    # Nested nulls, hostile property names (top level: left out, named; nested: passed on).
    nulls = {"id": second, "naam": None, "_links": {"self": None, "items": [None]}}
    corpus.listed.append({**nulls, **dict.fromkeys(hostile_names, None)})
    person = {"id": 7001, "voornaam": None, "achternaam": None, "email1": None}
    person.update({name: {"deeper": None} for name in hostile_names})
    corpus.details[second] = {
        "id": second,
        "contactpersonen": [{**person, "hoofdcontact": None, "nieuwsbrief_ids": None}],
    }
    corpus.naam[second] = None
    corpus.persons[second] = [(7001, None)]
    corpus.listed.append({"id": third, "naam": "listed a second time"})
    for n, text in enumerate(TEXTS):
        klant_id, person_id = 100 + n, 1000 + n
        corpus.listed.append({"id": klant_id, "naam": text.value, "plaats": text.value})
        persons = [
            {"id": person_id, "voornaam": text.value, "email1": text.value, "achternaam": None}
        ]
        corpus.details[klant_id] = {"id": klant_id, "naam": text.value, "contactpersonen": persons}
        corpus.naam[klant_id] = corpus.plaats[klant_id] = text.repaired
        corpus.persons[klant_id] = [(person_id, text.repaired)]
        if text.broken:
            corpus.broken.append((klant_id, person_id, text))
    for klant_id in CORPUS["edge_ids"]:
        corpus.listed.append({"id": klant_id, "naam": f"edge id {klant_id}"})
        corpus.details[klant_id] = {"id": klant_id, "contactpersonen": []}
        corpus.naam[klant_id] = f"edge id {klant_id}"
        corpus.persons[klant_id] = []
    return corpus


@dataclass
class ReaderRun:
    """What a reader sent, whichever protocol it speaks."""

    returncode: int
    klanten: list[dict[str, Any]]
    personen: list[dict[str, Any]]
    log: str  # stderr, or the LOG messages, one per line
    bookmark: Any
    error: str | None = None


@functools.cache
def _source_catalog() -> str:
    """A configured catalog of both streams, incremental (discover needs no server)."""
    done = subprocess.run(
        [str(BIN / "source-recras"), "discover", "--config", "/dev/stdin"],
        input=json.dumps({"base_url": "http://127.0.0.1:9", "api_key": API_KEY}).encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    (catalog,) = [m for m in map(airbyte_message, _output_lines(done.stdout)) if "catalog" in m]
    modes = {"klanten": "incremental", "contactpersonen": "incremental"}
    return json.dumps(configured_catalog(catalog["catalog"], modes))


def _run_tap(server: HostileServer, tmp_path: Path) -> ReaderRun:
    config = write_json(tmp_path / "tap-config.json", server.config(api_key=API_KEY))
    done = subprocess.run(
        [*tap_command(), "--config", str(config)],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "TAP_RECRAS_LOGLEVEL": "INFO"},
    )
    messages = [json.loads(line) for line in _output_lines(done.stdout)]
    for message in messages:
        assert message.get("type") in SINGER_TYPES, message
    records = [m for m in messages if m["type"] == "RECORD"]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    bookmark = states[-1]["bookmarks"]["klanten"].get("replication_key_value") if states else None
    log = _stderr_text(done.stderr)
    error = [line for line in log.split("\n") if "| ERROR " in line or "| CRITICAL " in line]
    return ReaderRun(
        done.returncode,
        [m["record"] for m in records if m["stream"] == "klanten"],
        [m["record"] for m in records if m["stream"] == "contactpersonen"],
        log,
        bookmark,
        error[-1] if error else None,
    )


def _run_source(server: HostileServer, tmp_path: Path) -> ReaderRun:
    config = write_json(tmp_path / "source-config.json", server.config(api_key=API_KEY))
    catalog = tmp_path / "catalog.json"
    catalog.write_text(_source_catalog(), encoding="utf-8")
    done = subprocess.run(
        [str(BIN / "source-recras"), "read", "--config", str(config), "--catalog", str(catalog)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    messages = [airbyte_message(line) for line in _output_lines(done.stdout)]
    stderr = _stderr_text(done.stderr)
    assert not stderr.strip(), f"source-recras wrote to stderr: {stderr[-2000:]}"
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    states = [m["state"]["stream"] for m in messages if m["type"] == "STATE"]
    klanten_states = [
        s["stream_state"] for s in states if s["stream_descriptor"]["name"] == "klanten"
    ]
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE"]
    assert len(errors) <= 1, errors
    return ReaderRun(
        done.returncode,
        [r["data"] for r in records if r["stream"] == "klanten"],
        [r["data"] for r in records if r["stream"] == "contactpersonen"],
        "\n".join(m["log"]["message"] for m in messages if m["type"] == "LOG"),
        klanten_states[-1].get("replication_key_value") if klanten_states else None,
        errors[0]["message"] if errors else None,
    )


READERS: dict[str, Callable[[HostileServer, Path], ReaderRun]] = {
    "tap-recras": _run_tap,
    "source-recras": _run_source,
}


@pytest.mark.parametrize("reader", list(READERS))
def test_reader_sends_the_corpus_whole_once_and_repaired_with_safe_logs(
    reader: str, tmp_path: Path
) -> None:
    corpus = _reader_corpus()
    routes = {"GET /api2/klanten": Reply.json(corpus.listed), "GET /api2/klanten/*": corpus.detail}
    with HostileServer(routes) as server:
        run = READERS[reader](server, tmp_path)

    assert run.returncode == 0, run.log[-3000:]
    assert run.error is None
    # Each customer once (the one listed twice too), in list order, its text as Recras sent
    # it but for lone surrogates.
    assert [k["id"] for k in run.klanten] == list(corpus.naam)
    for klant in run.klanten:
        assert klant.get("naam") == corpus.naam[klant["id"]], klant["id"]
        assert klant.get("plaats") == corpus.plaats.get(klant["id"]), klant["id"]
    persons = [(p["klant_id"], p["id"], p.get("voornaam"), p.get("email1")) for p in run.personen]
    expected = [
        (klant_id, person_id, text, text)
        for klant_id, items in corpus.persons.items()
        for person_id, text in items
    ]
    assert persons == expected
    nested = {k["id"]: [p.get("voornaam") for p in k["contactpersonen"]] for k in run.klanten}
    assert nested == {k: [text for _, text in items] for k, items in corpus.persons.items()}
    assert run.bookmark == MAX_ID
    # A broken text is repaired, and the warning names the record and the field.
    lines = run.log.split("\n")
    for klant_id, person_id, text in corpus.broken:
        klant = [
            line
            for line in lines
            if "lone surrogate" in line and f"klanten record id {klant_id}, field(s) naam" in line
        ]
        assert klant, (text.name, run.log[-3000:])
        person = [
            line
            for line in lines
            if "lone surrogate" in line
            and f"contactpersonen record klant_id {klant_id}, id {person_id}, field(s) " in line
            and "voornaam" in line
            and "email1" in line
        ]
        assert person, (text.name, run.log[-3000:])
    # Property names from outside are named, escaped, on one line; nested ones are passed on,
    # a broken one repaired with a warning naming the record and where.
    for name in CORPUS["property_names"]:
        assert _escaped(name) in run.log, name
    (listed_twice,) = [k for k in run.klanten if k["id"] == CORPUS["list_ids"][1]]
    repaired = {LONE_SURROGATE.sub("\ufffd", name) for name in CORPUS["property_names"]}
    assert repaired <= set(listed_twice["contactpersonen"][0]), listed_twice
    where = f"klanten record id {listed_twice['id']}, field(s) contactpersonen[0].(name)"
    assert [line for line in lines if "lone surrogate" in line and where in line], where
    _assert_safe_log(run.log, reader)


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("bad_id", CORPUS["bad_ids"])
def test_reader_stops_at_an_id_no_customer_can_have_and_names_it(
    reader: str, bad_id: str, tmp_path: Path
) -> None:
    body = f'[{{"id": 3, "naam": "fine"}}, {{"id": {bad_id}, "naam": "impossible"}}]'
    routes = {
        "GET /api2/klanten": Reply(200, body, {"Content-Type": "application/json"}),
        "GET /api2/klanten/*": Reply.json({"contactpersonen": []}),
    }
    with HostileServer(routes) as server:
        run = READERS[reader](server, tmp_path)

    assert run.returncode == 1, run.log[-3000:]
    assert run.error is not None and f"customer id {bad_id}, which no Recras customer" in run.error
    assert run.bookmark is None  # nothing bookmarked: the rerun reads the same customers
    assert str(bad_id) not in [str(k["id"]) for k in run.klanten]
    # source-recras sends the stack trace in its TRACE message, not in a LOG; tap-recras
    # ends with one CRITICAL line, no traceback.
    _assert_safe_log(run.log, reader)


# --------------------------------------------------------------------------- writers


@dataclass(frozen=True)
class Input:
    """One input record: its stream, its JSON text, its marker (a field that is not sent)."""

    stream: str  # "klanten" (source key external_id) or "keyless" (mapped to klanten)
    text: str
    marker: str
    #: The field path its reject must name; None: it must be written.
    rejected_at: str | None


class WriterCorpus:
    """The corpus as input records, and how many customers they must create."""

    def __init__(self) -> None:
        self.inputs: list[Input] = []
        self.creates = 0

    def add(
        self,
        stream: str,
        record: dict[str, Any],
        numbers: dict[str, str] | None = None,
        *,
        creates: int = 0,
        rejected_at: str | None = None,
    ) -> None:
        """Add a record; ``numbers``: fields whose value is this JSON number text, as it is."""
        marker = f"M{len(self.inputs)}"
        record = {**record, **dict.fromkeys(numbers or {}, "@@"), "marker": marker}
        # Text as a tap writes it (U+0085, U+2028 raw); lone surrogates as JSON escapes.
        text = json.dumps(record, ensure_ascii=False)
        text = LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
        for name, number in (numbers or {}).items():
            text = text.replace(f'"{name}": "@@"', f'"{name}": {number}', 1)
        self.inputs.append(Input(stream, text, marker, rejected_at))
        self.creates += creates

    def broken(self, item: Input) -> bool:
        """A lone surrogate: the whole line is refused, and no reason names a field."""
        return "\\ud" in item.text


def _customer(naam: str | None, email: str, **fields: Any) -> dict[str, Any]:
    person = {"voornaam": "Anna", "achternaam": "Corpus", "email1": email, "hoofdcontact": True}
    person.update(fields.pop("person", {}))
    return {"naam": naam, "contactpersonen": [person], **fields}


def _writer_corpus(existing: list[int]) -> WriterCorpus:
    """The corpus as records; ``existing``: two ids of customers the sandbox has."""
    corpus = WriterCorpus()
    for n, text in enumerate(TEXTS):  # text as a name, a place and a first name
        record = _customer(text.value, f"t{n}@example.com", plaats=text.value, external_id=f"T{n}")
        record["contactpersonen"][0]["voornaam"] = text.value
        broken = text.broken
        corpus.add("klanten", record, creates=int(not broken), rejected_at="?" if broken else None)
    # One person, NFC then NFD: source key, name and e-mail; then the same without a key.
    for n, spelling in enumerate(CORPUS["same_person"]):
        naam, email, creates = spelling["naam"], spelling["email1"], int(n == 0)
        keyed = _customer(naam, email, external_id=naam, plaats=f"spelling {n}")
        corpus.add("klanten", keyed, creates=creates)
        keyless = _customer(f"{naam} zonder sleutel", f"b.{email}", plaats=f"spelling {n}")
        corpus.add("keyless", keyless, creates=creates)
    # One customer without a name, four ways.
    for n, naam in enumerate((None, None, "", " \t ")):
        record = _customer(naam, "naamloos@example.com")
        if n == 0:
            del record["naam"]
        corpus.add("keyless", record, creates=int(n == 0))
    # Source keys as numbers: each group of spellings is one key, one customer.
    for g, group in enumerate(CORPUS["source_keys"]):
        for j, number in enumerate(group):
            record = _customer(f"Sleutel {g}.{j}", f"key{g}.{j}@example.com")
            corpus.add("klanten", record, {"external_id": number}, creates=int(j == 0))
    # Customer ids nobody has, or no customer can have.
    for number in CORPUS["record_ids"]:
        corpus.add("keyless", {"plaats": "Onmogelijk"}, {"id": number}, rejected_at="id")
    # The list's shape [5, 7, 7], on ids the sandbox has: each written, in order.
    first, second, third = CORPUS["list_ids"]
    ids = {first: existing[0], second: existing[1]}
    for n, klant_id in enumerate((first, second, third)):
        corpus.add("keyless", {"id": ids[klant_id], "plaats": f"Dubbel {n}"})
    # Property names from outside; one with a lone surrogate refuses its line.
    for n, name in enumerate(CORPUS["property_names"]):
        broken = bool(LONE_SURROGATE.search(name))
        record = _customer(f"Vreemd veld {n}", f"p{n}@example.com", external_id=f"P{n}")
        rejected_at = "?" if broken else None
        corpus.add(
            "klanten", {**record, name: "v"}, creates=int(not broken), rejected_at=rejected_at
        )
    # Nested nulls: where they are allowed, and where not.
    nulls = {"adres": None, "website": None, "extra_fields": None, "external_id": "N0"}
    person = {"voornaam": None, "achternaam": None, "telefoon1": None, "geslacht": None}
    corpus.add("klanten", _customer("Nullen", "n0@example.com", person=person, **nulls), creates=1)
    unsendable = {
        "contactpersonen[0]": {"external_id": "N1", "contactpersonen": [None]},
        "contactpersonen[0].hoofdcontact": {"external_id": "N2", "person": {"hoofdcontact": None}},
        "external_id": {"external_id": None},
    }
    for n, (where, fields) in enumerate(unsendable.items(), start=1):
        record = _customer("Null \x85\u2028", f"n{n}@example.com", **fields)
        corpus.add("klanten", record, rejected_at=where)
    return corpus


@dataclass
class WriterRun:
    """What a writer did: exit status, STATE echoed, log, rejects, input line of each marker."""

    returncode: int
    states: list[Any]
    log: str
    rejects: list[dict[str, Any]]
    line_of: dict[str, int]


def _writer_config(sandbox: Any, tmp_path: Path) -> Path:
    config = sandbox.config(
        rejects_path=str(tmp_path / "rejects.jsonl"),
        id_map_path=str(tmp_path / "id-map.sqlite3"),
        stream_maps={"keyless": {"__alias__": "klanten"}},
    )
    return write_json(tmp_path / "writer-config.json", config)


def _rejects(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "rejects.jsonl"
    if not path.exists():
        return []
    # JSON Lines: split at line feeds only (U+0085 and U+2028 may stand raw in a string).
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), "the last reject is cut short"
    return [json.loads(line) for line in text[:-1].split("\n")]


def _run(args: list[str], lines: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        args,
        input="".join(line + "\n" for line in lines).encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )


def _run_target(sandbox: Any, corpus: WriterCorpus, tmp_path: Path) -> WriterRun:
    lines = [
        json.dumps(
            {"type": "SCHEMA", "stream": name, "schema": {"properties": {}}, "key_properties": keys}
        )
        for name, keys in (("klanten", ["external_id"]), ("keyless", []))
    ]
    line_of = {}
    for item in corpus.inputs:
        lines.append(f'{{"type": "RECORD", "stream": "{item.stream}", "record": {item.text}}}')
        line_of[item.marker] = len(lines)
    lines.append(json.dumps({"type": "STATE", "value": {"done": len(corpus.inputs)}}))
    done = _run([TARGET, "--config", str(_writer_config(sandbox, tmp_path))], lines)
    states = [json.loads(line) for line in _output_lines(done.stdout)]
    return WriterRun(
        done.returncode, states, _stderr_text(done.stderr), _rejects(tmp_path), line_of
    )


def _run_destination(sandbox: Any, corpus: WriterCorpus, tmp_path: Path) -> WriterRun:
    def configured(name: str, mode: str, keys: list[list[str]]) -> dict[str, Any]:
        stream = {
            "name": name,
            "json_schema": {"properties": {}},
            "supported_sync_modes": ["incremental"],
        }
        return {
            "stream": stream,
            "sync_mode": "incremental",
            "destination_sync_mode": mode,
            "primary_key": keys,
        }

    streams = [
        configured("klanten", "append_dedup", [["external_id"]]),
        configured("keyless", "append", []),
    ]
    catalog = write_json(tmp_path / "catalog.json", {"streams": streams})
    lines = []
    line_of = {}
    for item in corpus.inputs:
        record = f'{{"stream": "{item.stream}", "data": {item.text}, "emitted_at": 1}}'
        lines.append(f'{{"type": "RECORD", "record": {record}}}')
        line_of[item.marker] = len(lines)
    descriptor = {"stream_descriptor": {"name": "klanten"}, "stream_state": {"done": len(lines)}}
    lines.append(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": descriptor}}))
    config = _writer_config(sandbox, tmp_path)
    destination = [str(BIN / "destination-recras"), "write", "--config", str(config)]
    done = _run([*destination, "--catalog", str(catalog)], lines)
    messages = [airbyte_message(line) for line in _output_lines(done.stdout)]
    stderr = _stderr_text(done.stderr)
    assert not [m for m in messages if m["type"] == "TRACE"], done.stdout[-3000:]
    log = "\n".join(m["log"]["message"] for m in messages if m["type"] == "LOG")
    states = [m["state"] for m in messages if m["type"] == "STATE"]
    rejects = _rejects(tmp_path)
    # stderr carries the summary of the LOG message for PyAirbyte's user, and nothing else.
    (summary,) = re.findall(r"^target-recras: Summary: (.*)$", log, flags=re.MULTILINE)
    shown = [f"destination-recras summary: {summary}"]
    if rejects:
        where = tmp_path / "rejects.jsonl"
        shown.append(f"destination-recras: the rejected records and the reasons are in {where}")
    assert stderr.splitlines() == shown, f"destination-recras wrote to stderr: {stderr[-2000:]}"
    return WriterRun(done.returncode, states, log, rejects, line_of)


WRITERS: dict[str, Callable[[Any, WriterCorpus, Path], WriterRun]] = {
    "target-recras": _run_target,
    "destination-recras": _run_destination,
}


def _marker(reject: dict[str, Any]) -> str:
    """The marker of the record a reject is about: from its record, or its whole line."""
    record = reject.get("record")
    if record is None:  # a line the writer could not decode; Python's json reads it
        record = json.loads(reject["line"])["record"]
        record = record.get("data", record)  # Airbyte, Singer
    marker: str = record["marker"]
    return marker


def _with_email(customers: list[dict[str, Any]], email: str) -> list[dict[str, Any]]:
    """The customers with a contact person of this e-mail (in any Unicode form)."""
    wanted = unicodedata.normalize("NFC", email)
    return [
        c
        for c in customers
        if any(
            unicodedata.normalize("NFC", p.get("email1") or "") == wanted
            for p in c["contactpersonen"]
        )
    ]


@pytest.mark.parametrize("writer", list(WRITERS))
def test_writer_writes_the_corpus_once_or_rejects_it_naming_record_and_field(
    writer: str, sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=2, api_key=SECRET_KEY)
    existing = sorted(c["id"] for c in sandbox.customers())
    corpus = _writer_corpus(existing)
    run = WRITERS[writer](sandbox, corpus, tmp_path)

    assert run.returncode == 0, run.log[-3000:]
    assert len(run.states) == 1, run.states  # every record done: the STATE after them went out
    _assert_safe_log(run.log, writer)
    for name in CORPUS["property_names"]:
        if not LONE_SURROGATE.search(name):  # else its whole line is refused
            assert _escaped(name) in run.log, name
    # Rejected: exactly the records that cannot be sent, each named with its field.
    by_marker = {_marker(reject): reject for reject in run.rejects}
    assert len(by_marker) == len(run.rejects), "a record was rejected twice"
    expected = {item.marker: item for item in corpus.inputs if item.rejected_at is not None}
    assert set(by_marker) == set(expected), [(r["reason"], r["field_path"]) for r in run.rejects]
    for marker, item in expected.items():
        reject = by_marker[marker]
        assert reject["reason"], reject
        if writer == "target-recras":  # the destination's reject holds the record (or line)
            assert reject["input_line"] == run.line_of[marker], (reject["input_line"], marker)
        if not corpus.broken(item):
            assert reject["field_path"] == item.rejected_at, (reject["reason"], item.rejected_at)
    # Written: each customer once, its text exactly as given.
    customers = sandbox.customers()
    assert len(customers) == len(existing) + corpus.creates, [c["naam"] for c in customers]
    for n, text in enumerate(TEXTS):
        found = _with_email(customers, f"t{n}@example.com")
        if text.broken:
            assert found == [], text.name
            continue
        assert len(found) == 1, text.name
        assert found[0]["naam"] == text.value and found[0]["plaats"] == text.value, text.name
        assert [p["voornaam"] for p in found[0]["contactpersonen"]] == [text.value], text.name
    email = CORPUS["same_person"][0]["email1"]
    for spelling in (email, f"b.{email}"):  # NFC, then NFD: one customer, updated
        (one,) = _with_email(customers, spelling)
        assert one["plaats"] == "spelling 1" and len(one["contactpersonen"]) == 1, one
    assert len(_with_email(customers, "naamloos@example.com")) == 1
    for g, group in enumerate(CORPUS["source_keys"]):
        named = [c["naam"] for c in customers if (c["naam"] or "").startswith(f"Sleutel {g}.")]
        assert named == [f"Sleutel {g}.{len(group) - 1}"], (group, named)
    held = {c["id"]: c["plaats"] for c in customers}
    assert [held[i] for i in existing] == ["Dubbel 0", "Dubbel 2"]
