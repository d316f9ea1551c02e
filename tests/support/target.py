"""Helpers shared by the target-recras tests (this module holds no tests itself)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from support.fault_proxy import Exchange, Fault, FaultProxy, Rule
from tap_recras.testing import json_lines
from target_recras.target import TargetRecras

TARGET = str(Path(sys.executable).parent / "target-recras")
TAP = str(Path(sys.executable).parent / "tap-recras")
#: A distinctive key: every test that runs the target checks its output never shows it.
SECRET_KEY = "tr-SECRET-4d1f9c-never-log"

#: Stream maps that make the tap's output the target's input between two Recras: the source
#: customer id becomes the source key, and the source's contact person ids are dropped (they
#: would link to unrelated persons in the destination).
COPY_MAPS = {
    "klanten": {
        "source_id": "id",
        "id": "__NULL__",
        "__key_properties__": ["source_id"],
        "contactpersonen": "[{k: v for k, v in p.items() if k != 'id'} for p in contactpersonen]",
    }
}


def customer(n: int, **fields: Any) -> dict[str, Any]:
    """A valid record for customer ``n`` with source key ``external_id``."""
    record: dict[str, Any] = {
        "external_id": f"EXT-{n}",
        "naam": f"Klant {n}",
        "plaats": "Utrecht",
        "provinciecode": "NL-UT",
        "contactpersonen": [
            {
                "voornaam": "Anna",
                "achternaam": f"Klant{n}",
                "geslacht": "vrouw",
                "email1": f"anna{n}@example.com",
                "hoofdcontact": True,
            }
        ],
    }
    record.update(fields)
    return record


def singer_input(
    records: list[dict[str, Any]],
    *,
    key_properties: list[str] | None = None,
    state_every: int = 0,
    stream: str = "klanten",
) -> str:
    """SCHEMA + RECORD messages (+ a STATE ``{"done": n}`` after every ``state_every``)."""
    keys = ["external_id"] if key_properties is None else key_properties
    schema = {"type": "object", "properties": {}}
    lines = [{"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": keys}]
    for n, record in enumerate(records, start=1):
        lines.append({"type": "RECORD", "stream": stream, "record": record})
        if state_every and n % state_every == 0:
            lines.append({"type": "STATE", "value": {"done": n}})
    return "".join(json.dumps(line) + "\n" for line in lines)


def target_config(tmp_path: Path, base: dict[str, Any] | None = None, **options: Any) -> Path:
    """Write a config with rejects and id map in ``tmp_path``; return its path."""
    config = {
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        "id_map_path": str(tmp_path / "id-map.sqlite3"),
        **(base or {}),
        **options,
    }
    path = tmp_path / f"config-{len(list(tmp_path.glob('config-*.json')))}.json"
    path.write_text(json.dumps(config))
    return path


def run_target(config: Path, input_text: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real ``target-recras`` executable; asserts the secret key never shows."""
    result = subprocess.run(
        [TARGET, "--config", str(config)],
        check=False,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert SECRET_KEY not in result.stdout + result.stderr
    return result


def replay_from(lines: list[str], done: int | None) -> str:
    """The SCHEMA plus every line after the STATE ``{"done": done}`` (all when None)."""
    if done is None:
        return "".join(lines)
    marker = json.dumps({"type": "STATE", "value": {"done": done}}) + "\n"
    return lines[0] + "".join(lines[lines.index(marker) + 1 :])


def run_target_ok(config: Path, input_text: str) -> str:
    """Run the target on ``input_text``, assert it succeeded, and return its log (stderr)."""
    result = run_target(config, input_text)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def held_customer(sandbox: Any, klant_id: int) -> dict[str, Any]:
    """Customer ``klant_id`` as the sandbox holds it."""
    return next(item for item in sandbox.customers() if item["id"] == klant_id)


def start_target(config: Path, **popen: Any) -> subprocess.Popen[str]:
    """The real ``target-recras`` executable, running, with text pipes (``popen`` overrides)."""
    options: dict[str, Any] = {
        "stdin": subprocess.PIPE,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "text": True,
        "env": {**os.environ, "PYTHONUNBUFFERED": "1"},
        **popen,
    }
    return subprocess.Popen([TARGET, "--config", str(config)], **options)


def run_killed_at_first_post(sandbox: Any, tmp_path: Path, text: str) -> FaultProxy:
    """Run the target through a proxy that SIGKILLs it once the sandbox processed a POST."""
    running: list[subprocess.Popen[str]] = []

    def kill(exchange: Exchange) -> None:
        running[0].kill()

    rules = [Rule("POST", "/api2/klanten", nth=1, fault=Fault.after_drop(), hook=kill)]
    with FaultProxy(sandbox.base_url, rules=rules) as proxy:
        config = target_config(tmp_path, sandbox.config(base_url=proxy.base_url))
        running.append(start_target(config))
        running[0].communicate(text, timeout=30)
    assert running[0].returncode == -9, proxy.describe()
    assert [e.forwarded for e in proxy.faulted()] == [True], proxy.describe()
    return proxy


def states(stdout: str) -> list[dict[str, Any]]:
    """The STATE values a target printed."""
    return [json.loads(line) for line in json_lines(stdout)]


def run_in_process(config: dict[str, Any], input_text: str) -> tuple[TargetRecras, str]:
    """Run the target class in this process; returns it and its stdout."""
    target = TargetRecras(config={"base_url": "https://recras.invalid", **config})
    out = io.StringIO()
    with redirect_stdout(out):
        target.listen(io.StringIO(input_text))
    return target, out.getvalue()


def rejects(path: Path) -> list[dict[str, Any]]:
    """Entries of a rejects file (empty list when there is none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in json_lines(path.read_text(encoding="utf-8"))]


class RecrasStub:
    """Customers as Recras lists and shows them (``GET /api2/klanten[/<id>]``), for look-ups."""

    def __init__(self, customers: list[dict[str, Any]]) -> None:
        self.customers = {item["id"]: item for item in customers}

    def iter_klanten(self, min_id: int | None = None) -> Any:
        return iter(self.customers.values())

    def get_klant(self, klant_id: int) -> dict[str, Any]:
        return self.customers[klant_id]
