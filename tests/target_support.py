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

from target_recras.target import TargetRecras

TARGET = str(Path(sys.executable).parent / "target-recras")
TAP = str(Path(sys.executable).parent / "tap-recras")
#: A distinctive key: every test that runs the target checks its output never shows it.
SECRET_KEY = "tr-SECRET-4d1f9c-never-log"


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


def states(stdout: str) -> list[dict[str, Any]]:
    """The STATE values a target printed."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


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
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
