"""Per-slot heartbeats of the workers, in one small file every worker maps into memory.

Slot ``i`` owns 8 bytes at offset ``8 * i``: the ``time.monotonic()`` of its worker's last beat (a double). Linux's
monotonic clock is the same for every process of the machine, so any worker can tell how long ago a sibling's event
loop last ran. A slot that was never beaten reads 0.0, i.e. very long ago.
"""

from __future__ import annotations

import mmap
import os
import struct
import time

_BEAT = struct.Struct("d")
FILE_NAME = "heartbeats"


def create_heartbeats(slots_dir: str, count: int) -> None:
    """In the parent: the zeroed heartbeats file for ``count`` slots."""
    with open(os.path.join(slots_dir, FILE_NAME), "wb") as file:
        file.write(bytes(_BEAT.size * count))


class Heartbeats:
    """A worker's view of the heartbeats file (opened by each worker, after it was spawned)."""

    def __init__(self, slots_dir: str, count: int) -> None:
        with open(os.path.join(slots_dir, FILE_NAME), "r+b") as file:
            self._map = mmap.mmap(file.fileno(), _BEAT.size * count)
        self.count = count

    def beat(self, slot: int) -> None:
        _BEAT.pack_into(self._map, _BEAT.size * slot, time.monotonic())

    def age(self, slot: int) -> float:
        """Seconds since slot ``slot`` last beat."""
        return time.monotonic() - _BEAT.unpack_from(self._map, _BEAT.size * slot)[0]

    def close(self) -> None:
        self._map.close()
