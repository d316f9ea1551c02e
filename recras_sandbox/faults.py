"""Deterministic fault injection for ``/api2`` requests.

Every ``/api2`` request draws exactly two numbers from one seeded generator, in the
order requests arrive, so a given seed and request sequence always yields the same
faults. The decision is taken before the request is processed: a faulted write
changes nothing.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from recras_sandbox.options import SandboxOptions, check_option

#: Kinds a ``fault_rate`` is split among, in equal parts.
FAULT_KINDS: tuple[str, ...] = ("429", "503", "drop")
#: What the admin endpoint may change at run time (options of these names).
_SETTINGS = {"fault_rate", "invalid_json_rate", "latency_ms", "retry_after", "fault_seed"}


@dataclass(frozen=True)
class Decision:
    """What to do with one request."""

    #: None, "429", "503" or "drop" (close the socket without answering).
    fault: str | None
    #: Answer 200 with a body that is not valid JSON.
    invalid_json: bool
    latency_s: float
    retry_after: int


class FaultInjector:
    """Holds the fault settings (changeable at run time) and the seeded generator."""

    def __init__(self, options: SandboxOptions) -> None:
        """Start with ``options``' fault settings (checked when the options were made)."""
        self._lock = threading.Lock()
        self.fault_rate = options.fault_rate
        self.invalid_json_rate = options.invalid_json_rate
        self.latency_ms = options.latency_ms
        self.retry_after = options.retry_after
        self._rng = _generator(options.fault_seed)

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply run-time changes (admin endpoint); ``fault_seed`` restarts the sequence.

        Every change is checked as the option of its name is before any is applied.
        """
        unknown = set(changes) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            if name != "fault_seed":
                check_option(name, _number(name, value, integer=name == "retry_after"))
        with self._lock:
            for name, value in changes.items():
                if name == "fault_seed":
                    self._rng = _generator(value)
                else:
                    setattr(self, name, value)
            return self.settings()

    def settings(self) -> dict[str, Any]:
        """Current settings as JSON-ready values."""
        return {
            "fault_rate": self.fault_rate,
            "invalid_json_rate": self.invalid_json_rate,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
        }

    def decide(self) -> Decision:
        """Draw the fate of the next ``/api2`` request."""
        with self._lock:
            # Always two draws, whatever the rates, so changing one rate at run time
            # does not shift the other's sequence.
            u_fault = self._rng.random()
            u_json = self._rng.random()
            fault = None
            if u_fault < self.fault_rate:
                fault = FAULT_KINDS[min(int(u_fault / self.fault_rate * 3), 2)]
            return Decision(
                fault=fault,
                invalid_json=fault is None and u_json < self.invalid_json_rate,
                latency_s=self.latency_ms / 1000.0,
                retry_after=self.retry_after,
            )


def _number(name: str, value: object, *, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if integer and not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


def _generator(fault_seed: object) -> random.Random:
    return random.Random(f"faults:{fault_seed}")  # noqa: S311 - not crypto
