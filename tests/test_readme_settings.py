"""The README's settings tables are what the plugins report (scripts/readme_settings.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def test_check_mode_detects_drift(tmp_path: Path) -> None:
    """A README whose table differs from the code fails the check (the test can fail)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = "<!-- END GENERATED: tap-recras --about --format=markdown -->"
    assert marker in readme
    stale = tmp_path / "README.md"
    stale.write_text(readme.replace(marker, "| bogus | False | None | drift |\n\n" + marker))
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
    assert "bogus" in proc.stdout


def test_check_mode_detects_a_stale_troubleshooting_table(tmp_path: Path) -> None:
    """A README whose copied troubleshooting table differs from docs/tap.md fails the check."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = "<!-- END GENERATED: troubleshooting table of docs/tap.md -->"
    assert marker in readme
    stale = tmp_path / "README.md"
    stale.write_text(readme.replace(marker, "| ERROR | `an old message` | gone | - |\n\n" + marker))
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
    assert "an old message" in proc.stdout
