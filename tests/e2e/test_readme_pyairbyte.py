"""The README's PyAirbyte examples, run as written: from one sandbox into another, twice.

The Python blocks of the section "Airbyte and PyAirbyte" are joined, in order, into one
script (the second uses the first's ``result``), and run in .venv-airbyte as a user would
run them: the project's venv's ``bin`` on ``PATH``, ``AIRBYTE_OFFLINE_MODE=1``, and the
variables the section names set to two sandboxes (customers in the first, none in the
second). A few lines appended after the blocks report what the blocks left behind: the
customer ids in PyAirbyte's cache and the records sent. The second run, in the same
directory after a customer was added, must read into the same cache, and the write must
find every customer of the first run unchanged.

The summary of destination-recras must reach what the user sees: the script's stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.documents.markdown import fenced_blocks
from support.documents.readme import section
from support.paths import ROOT

AIRBYTE_PYTHON = ROOT / ".venv-airbyte" / "bin" / "python"
SOURCE_KEY = "readme-source-key-61c0f2"
TARGET_KEY = "readme-target-key-9ab4e7"
#: Appended to the README's blocks: what they left in their variables, as one JSON line.
REPORT = """
import json as _json
print("REPORT " + _json.dumps({
    "cached_ids": sorted(int(row["id"]) for row in result["klanten"]),
    "sent": write_result.processed_records,
}))
"""


def _readme_script() -> str:
    blocks = fenced_blocks(section("Airbyte and PyAirbyte"), "python")
    assert len(blocks) == 2, blocks
    return "\n".join(blocks) + REPORT


def _run(script: Path, workdir: Path, source: Any, target: Any) -> tuple[dict[str, Any], str]:
    """Run the script as a user would; its report and everything it printed."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRBYTE_OFFLINE_MODE": "1",
        "DO_NOT_TRACK": "1",
        "AIRBYTE_LOGGING_ROOT": str(workdir / "airbyte-logs"),
        "RECRAS_BASE_URL": source.base_url,
        "RECRAS_API_KEY": source.api_key,
        "TARGET_RECRAS_BASE_URL": target.base_url,
        "TARGET_RECRAS_API_KEY": target.api_key,
    }
    proc = subprocess.run(
        [str(AIRBYTE_PYTHON), str(script)],
        cwd=workdir,  # PyAirbyte's cache and the id map are kept there, as for a user
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, printed[-4000:]
    (report,) = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    parsed: dict[str, Any] = json.loads(report.removeprefix("REPORT "))
    assert SOURCE_KEY not in printed and TARGET_KEY not in printed
    return parsed, proc.stderr


def _copies(customers: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a copy must keep of each customer: its name and its contact persons' names."""
    return sorted(
        (
            (
                c["naam"],
                sorted(((p["voornaam"], p["achternaam"]) for p in c["contactpersonen"]), key=repr),
            )
            for c in customers
        ),
        key=repr,  # names may be null
    )


def test_readme_pyairbyte_examples_copy_customers_and_show_the_summary(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    assert AIRBYTE_PYTHON.is_file(), "PyAirbyte is missing: run ./scripts/install_peers.sh"
    source = sandbox_factory(customers=30, api_key=SOURCE_KEY)
    target = sandbox_factory(customers=0, api_key=TARGET_KEY)
    script = tmp_path / "readme_pyairbyte.py"
    script.write_text(_readme_script(), encoding="utf-8")

    report, stderr = _run(script, tmp_path, source, target)
    ids = sorted(c["id"] for c in source.customers())
    assert report == {"cached_ids": ids, "sent": 30}
    assert _copies(target.customers()) == _copies(source.customers())
    assert (
        "destination-recras summary: 30 records read: 30 created, 0 merged, 0 updated, "
        "0 unchanged (skipped)"
    ) in stderr
    assert ", 0 rejected," in stderr

    # Again, after a customer was added: the cache reads only it, and keeps everyone.
    (added,) = source.add_customers(1)
    source.reset_stats()
    report, stderr = _run(script, tmp_path, source, target)
    assert report == {"cached_ids": [*ids, added], "sent": 31}
    assert source.stats()["requests"].get("GET /api2/klanten/{id}", 0) == 1
    assert _copies(target.customers()) == _copies(source.customers())
    assert "31 records read: 1 created, 0 merged, 0 updated, 30 unchanged (skipped)" in stderr
