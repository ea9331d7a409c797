"""What the machine's CPUs did: /proc/stat counters and the share the hypervisor stole.

On a virtual machine the hypervisor may run other guests on our CPUs ("steal"); a thread then stops for
milliseconds in the middle of whatever it was doing. Tail latencies measured during such a spell describe the
neighbours, not the server, so the streaming section measures the steal of every run (see ``StealMeter``).
"""

from __future__ import annotations

from pathlib import Path

STEAL_FIELD = 7  # user nice system idle iowait irq softirq steal ...


def cpu_counters() -> list[int]:
    """The aggregate "cpu" line of /proc/stat (user nice system idle iowait irq softirq steal ...)."""
    try:
        return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return []


class StealMeter:
    """Percent of all CPU time the hypervisor stole between ``start()`` and ``stop()`` (0 when unknown)."""

    def __init__(self) -> None:
        self._before: list[int] = []

    def start(self) -> None:
        self._before = cpu_counters()

    def stop(self) -> float:
        after = cpu_counters()
        if len(after) <= STEAL_FIELD or len(self._before) <= STEAL_FIELD:
            return 0.0
        delta = [a - b for a, b in zip(after, self._before, strict=False)]
        total = sum(delta[: STEAL_FIELD + 1])
        return 100.0 * delta[STEAL_FIELD] / total if total > 0 else 0.0
