"""Repeated lines are logged a few times at their level, then only at DEBUG.

A problem every record shares would otherwise log a line per record (tests/target/
test_log_volume.py runs 2,000); :class:`~recras_api.capped_log.CappedLog` counts each kind
of line by its format string.
"""

from __future__ import annotations

import logging

import pytest

from recras_api.capped_log import FURTHER_AT_DEBUG, CappedLog

LOGGER = logging.getLogger("tests.capped_log")


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(record.levelno, record.getMessage()) for record in caplog.records]


def test_each_kind_is_logged_up_to_its_limit_then_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = CappedLog(LOGGER, limit=3)
    with caplog.at_level(logging.DEBUG, logger=LOGGER.name):
        for n in range(1, 6):
            lines.warning("record %d: field %s not sent", n, "x")
        lines.info("merged %d", 7)

    assert logged(caplog) == [
        (logging.WARNING, "record 1: field x not sent"),
        (logging.WARNING, "record 2: field x not sent"),
        (logging.WARNING, "record 3: field x not sent"),
        (logging.WARNING, FURTHER_AT_DEBUG),
        (logging.DEBUG, "record 4: field x not sent"),
        (logging.DEBUG, "record 5: field x not sent"),
        (logging.INFO, "merged 7"),  # another kind: counted apart
    ]


def test_the_line_at_the_limit_says_where_the_rest_go(caplog: pytest.LogCaptureFixture) -> None:
    lines = CappedLog(LOGGER, limit=1)
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        for n in range(3):
            lines.warning("rejected %d", n, further="Further rejects are only in rejects.jsonl.")

    assert logged(caplog) == [
        (logging.WARNING, "rejected 0"),
        (logging.WARNING, "Further rejects are only in rejects.jsonl."),
    ]
