"""Where the checkout is: the tests run the project's own files and executables."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
