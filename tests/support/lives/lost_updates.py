"""What goes wrong in the stateful searches for lost updates: faults, SIGKILLs, the target.

A :class:`Trigger` names the request of a run's first attempt that meets a fault of
:data:`FAULTS` (through support.fault_proxy) or a SIGKILL of the running :class:`Target`.
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis.strategies as st

from recras_sandbox.testing import SandboxProcess
from support.fault_proxy import Exchange, Fault
from support.target import start_target

RUN_TIMEOUT = 60.0
FAULTS = {
    "before-503": Fault.before_status(503),
    "after-502": Fault.after_status(502),
    "after-drop": Fault.after_drop(),
}
KILLS = ("kill-before", "kill-after")


@dataclass(frozen=True)
class Trigger:
    """The ``nth`` request with ``method`` of a run's first attempt gets ``what``."""

    method: str
    nth: int
    what: str


class Target:
    """Runs the real target; :meth:`kill` (a proxy hook) SIGKILLs the running one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self.killed = False

    def kill(self, exchange: Exchange) -> None:
        del exchange
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait(10)
                self.killed = True

    def run(self, config: Path, text: str) -> tuple[int, list[int], str]:
        with self._lock:
            self.killed = False
            self._proc = start_target(config)
        proc = self._proc
        try:
            out, err = proc.communicate(text, timeout=RUN_TIMEOUT)
        finally:
            with self._lock:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
                self._proc = None
        done = [json.loads(line)["done"] for line in out.splitlines(keepends=True) if "\n" in line]
        return (-9 if self.killed else proc.returncode), done, err


def by_naam(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {item["naam"]: item for item in sandbox.customers()}


triggers = st.one_of(
    st.none(),
    st.builds(
        Trigger,
        method=st.sampled_from(["PUT", "POST", "GET"]),
        nth=st.integers(1, 3),
        what=st.sampled_from([*FAULTS, *KILLS]),
    ),
)
