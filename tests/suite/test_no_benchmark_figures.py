"""Benchmark figures live in benchmarks/README.md, not in the code.

A timing or size written in a docstring or comment goes stale the day the code or the SDK
changes; the code says *why* it departs from the SDK's default and points to the benchmark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import recras_api
import tap_recras
import target_recras

FIGURE = re.compile(
    r"\b\d[\d,.]*\s?(µs|us|ms|MB|MiB|GB|KB|KiB)\b"  # a measured time or size
    r"|\b\d+(\.\d+)?x(?=[\s,.;:)]|$)"  # a measured ratio: 2.5x
    r"|\ba (third|fifth|quarter|half) of the (tap's )?(own )?run time",
    re.MULTILINE,
)
MODULES = sorted(
    path
    for package in (recras_api, tap_recras, target_recras)
    for path in Path(package.__file__).parent.rglob("*.py")
)


def figures(text: str) -> list[str]:
    """The figure-like phrases in ``text``, each with its line number."""
    return [
        f"line {text.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}"
        for match in FIGURE.finditer(text)
    ]


def test_the_scan_recognises_the_figures_that_were_moved() -> None:
    moved = "walk was 6.5 µs per record, a third of the tap's own run time; 62 MB; about 2.5x\n"
    assert len(figures(moved)) == 4
    assert figures("f'byte 0x{raw[0]:02x}', latency_ms=5, a = b  # 2 * x") == []


@pytest.mark.parametrize("module", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_benchmark_figures_in_the_code(module: Path) -> None:
    assert figures(module.read_text(encoding="utf-8")) == [], "move them to benchmarks/README.md"
