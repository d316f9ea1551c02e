"""The id map file when something is wrong with it: corrupt, read-only, a directory, a full disk.

Every error names the file and says what to do, with no traceback; on a full disk the SQLite
error is the one reported (closing the run must not raise a second one over it), and a rerun
once there is space again writes every customer exactly once.

Read-only and full disk are real, not simulated: the target runs in a private mount
namespace (``unshare --user --map-root-user --mount``, no root needed) on a read-only bind
mount, or on a tmpfs of 160 KiB that the id map's write-ahead log fills after a few dozen
customers.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.target import (
    SECRET_KEY,
    TARGET,
    customer,
    run_target,
    singer_input,
    target_config,
)

from target_recras.id_map import IdMap, KeyKind

OFFLINE = {"base_url": "https://recras.invalid", "api_key": SECRET_KEY}


def _in_private_mounts(script: str) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) in a mount namespace of its own; mounts vanish with it."""
    command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-euc", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _assert_clear_stop(stderr: str, expected: str) -> None:
    assert expected in stderr, stderr
    assert "Traceback" not in stderr
    assert stderr.count("CRITICAL") == 1


@pytest.mark.parametrize("kind", ["corrupt", "directory"])
def test_unusable_id_map_is_named_in_the_error(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "id-map.sqlite3"
    if kind == "corrupt":
        path.write_bytes(b"this is not an SQLite database\n" * 200)
        expected = f"The id map {path} cannot be opened: file is not a database; it is corrupt"
    else:
        path.mkdir()
        expected = f"The id map {path} cannot be opened: it is a directory (id_map_path must"
    result = run_target(target_config(tmp_path, OFFLINE), singer_input([customer(1)]))
    assert result.returncode == 1
    _assert_clear_stop(result.stderr, expected)


def test_read_only_id_map_is_named_in_the_error(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    id_map = IdMap.open(maps / "id-map.sqlite3")
    id_map.store(f"{KeyKind.SOURCE}:external_id='EXT-1'", KeyKind.SOURCE, "[]", 7, 0)
    id_map.close()
    config = target_config(tmp_path, OFFLINE, id_map_path=str(maps / "id-map.sqlite3"))
    (tmp_path / "in.singer").write_text(singer_input([customer(1)]))
    d = shlex.quote(str(maps))
    result = _in_private_mounts(
        f"mount --bind {d} {d}; mount -o remount,bind,ro {d}; "
        f"exec {TARGET} --config {config} < {tmp_path / 'in.singer'}"
    )
    assert result.returncode == 1
    _assert_clear_stop(result.stderr, f"The id map {maps / 'id-map.sqlite3'} cannot be opened: ")
    assert "the target must be able to write it" in result.stderr


def test_full_disk_reports_the_real_error_and_a_rerun_loses_nothing(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(customers=0, api_key=SECRET_KEY, merge="never")
    disk = tmp_path / "disk"
    disk.mkdir()
    id_map_path = disk / "id-map.sqlite3"
    config = target_config(tmp_path, sandbox.config(), id_map_path=str(id_map_path))
    count = 120
    (tmp_path / "in.singer").write_text(
        singer_input([customer(n) for n in range(count)], state_every=10)
    )
    d, t = shlex.quote(str(disk)), shlex.quote(str(tmp_path))
    run = f"{TARGET} --config {config} < {t}/in.singer"
    result = _in_private_mounts(
        f"mount -t tmpfs -o size=160k tmpfs {d}; "
        f"{run} > {t}/out1 2> {t}/err1 || echo $? > {t}/rc1; "
        f"mount -o remount,size=16m {d}; "  # space again
        f"{run} > {t}/out2 2> {t}/err2 || echo $? > {t}/rc2"
    )
    assert result.returncode == 0, result.stderr
    first = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "1", first
    _assert_clear_stop(first, f"The id map {id_map_path} could not be written: database or disk")
    assert "the disk is full" in first
    assert "Summary: " in first
    # The rerun (the whole input again) finds what the first run wrote, and writes the rest.
    second = (tmp_path / "err2").read_text()
    assert not (tmp_path / "rc2").exists(), second
    names = Counter(item["naam"] for item in sandbox.customers())
    assert names == Counter(f"Klant {n}" for n in range(count)), "lost or duplicated"
    last_state = json.loads((tmp_path / "out2").read_text().splitlines()[-1])
    assert last_state == {"done": count}
