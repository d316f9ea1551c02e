"""The rejects file: every record the target could not write, with the reason.

JSON Lines, appended. Each line is flushed and fsynced before the record counts as handled,
so a STATE emitted after it never covers a reject that is not on disk. A record is written as
it came: the reader's exact numbers (:class:`~decimal.Decimal`) as the same JSON numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any

import msgspec

from recras_api.capped_log import CappedLog
from recras_api.redact import scrub
from target_recras.errors import TargetStopError
from target_recras.input import Problem

#: Rejects logged one by one; after that they go to the file, the summary and DEBUG lines.
LOGGED_REJECTS = 20
#: One reject as JSON: non-ASCII as is, Decimals as their numbers, anything else as text.
_encode = msgspec.json.Encoder(decimal_format="number", enc_hook=str).encode


class RejectsFile:
    """Appends rejects; enforces ``max_rejects`` (``None``: no limit)."""

    def __init__(self, path: str | Path, max_rejects: int | None, logger: logging.Logger) -> None:
        self.path = Path(path)
        self.max_rejects = max_rejects
        self._lines = CappedLog(logger, LOGGED_REJECTS)
        self.count = 0
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the file if a reject opened it."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def reject(
        self,
        problem: Problem,
        *,
        stream: str | None,
        record: Any = None,
        line: str | None = None,
        input_line: int | None = None,
        klant_id: int | None = None,
    ) -> None:
        """Write one reject; raise :class:`TargetStopError` once more than ``max_rejects``."""
        entry: dict[str, Any] = {
            "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
            "stream": stream,
            "reason": problem.reason,
            "field_path": problem.field_path,
            "input_line": input_line,
            "klant_id": klant_id,
            "record": record,
        }
        if line is not None:
            entry["line"] = line
        text = scrub(_encode(entry).decode()) + "\n"
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            self._file.write(text)
            self._file.flush()
            os.fsync(self._file.fileno())
            self.count += 1
            count = self.count
        where = f" at {problem.field_path}" if problem.field_path else ""
        self._lines.warning(
            "Rejected record (input line %s, stream %s)%s: %s",
            input_line if input_line is not None else "?",
            stream or "?",
            where,
            problem.reason,
            further=f"Further rejects are logged at DEBUG level only; every reject is in "
            f"{self.path} (and counted in the summary).",
        )
        if self.max_rejects is not None and count > self.max_rejects:
            msg = (
                f"Stopped after {count} rejected records (max_rejects is {self.max_rejects}). "
                f"See {self.path} for the records and reasons."
            )
            raise TargetStopError(msg)
