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

#: Kinds a ``fault_rate`` is split among, in equal parts.
FAULT_KINDS: tuple[str, ...] = ("429", "503", "drop")


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

    def __init__(
        self,
        *,
        fault_rate: float = 0.0,
        invalid_json_rate: float = 0.0,
        latency_ms: float = 0.0,
        retry_after: int = 1,
        seed: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.fault_rate = fault_rate
        self.invalid_json_rate = invalid_json_rate
        self.latency_ms = latency_ms
        self.retry_after = retry_after
        self._rng = random.Random(f"faults:{seed}")  # noqa: S311 - not crypto
        self.check()

    def check(self) -> None:
        """Raise ValueError on settings out of range."""
        for name in ("fault_rate", "invalid_json_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply run-time changes (admin endpoint); ``fault_seed`` restarts the sequence."""
        allowed = {"fault_rate", "invalid_json_rate", "latency_ms", "retry_after", "fault_seed"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            old = self.settings()
            try:
                for name, value in changes.items():
                    if name == "fault_seed":
                        self._rng = random.Random(f"faults:{value}")  # noqa: S311
                    elif name == "retry_after":
                        self.retry_after = _number(name, value, integer=True)  # type: ignore[assignment]
                    else:
                        setattr(self, name, _number(name, value))
                self.check()
            except ValueError:
                for name, value in old.items():
                    setattr(self, name, value)
                raise
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
