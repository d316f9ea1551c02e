"""The README's settings tables are what the plugins report (scripts/readme_settings.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import ROOT

pytestmark = pytest.mark.slow


def test_readme_settings_tables_match_the_code() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_settings.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, (
        "README.md settings tables are stale; regenerate them with "
        f".venv/bin/python scripts/readme_settings.py\n{proc.stdout}\n{proc.stderr}"
    )


@pytest.mark.parametrize(
    ("marker", "stale_row", "shown"),
    [
        (  # a settings table that differs from --about
            "<!-- END GENERATED: tap-recras --about --format=markdown -->",
            "| bogus | False | None | drift |",
            "bogus",
        ),
        (  # a copied troubleshooting table that differs from docs/tap.md
            "<!-- END GENERATED: troubleshooting table of docs/tap.md -->",
            "| ERROR | `an old message` | gone | - |",
            "an old message",
        ),
    ],
)
def test_check_mode_detects_drift(tmp_path: Path, marker: str, stale_row: str, shown: str) -> None:
    """A README whose generated section differs from its source fails the check."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert marker in readme
    stale = tmp_path / "README.md"
    stale.write_text(readme.replace(marker, f"{stale_row}\n\n{marker}"))
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "readme_settings.py"),
            "--check",
            "--readme",
            str(stale),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 1
    assert shown in proc.stdout
