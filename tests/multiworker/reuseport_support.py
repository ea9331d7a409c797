"""Helpers for the per-worker socket tests: who accepts on which socket (from /proc), and a stand-in worker.

A listening socket is identified by its inode: ``/proc/net/tcp`` lists the listening sockets of a port with their
inodes. Every worker holds every socket (to serve a blocked sibling's), but its event loop waits for connections
only on the sockets it accepts from: ``/proc/<pid>/fdinfo/<fd>`` of an epoll instance lists the files it watches,
each with its inode in hex (``tfd: 7 events: 19 data: 7 pos:0 ino:26e7 sdev:9``).
"""

from __future__ import annotations

import contextlib
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path

LISTEN = "0A"  # TCP state in /proc/net/tcp


def listening_inodes(port: int) -> set[int]:
    """Inodes of the sockets listening on ``port`` (any address, IPv4 or IPv6)."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(int(fields[9]))
    return inodes


def watched_inodes(pid: int) -> set[int]:
    """Inodes of the files the epoll instances of process ``pid`` wait on (empty if it is gone)."""
    inodes: set[int] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:[eventpoll]":
                    continue
                for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                    if line.startswith("tfd:"):
                        inodes.add(int(line.rsplit("ino:", 1)[1].split()[0], 16))
    return inodes


def children(pid: int) -> list[int]:
    """Live child processes of ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def layout(parent: int, port: int) -> dict[int, set[int]]:
    """For each child of ``parent`` accepting on a listening socket of ``port``: the inodes of those it accepts on."""
    listening = listening_inodes(port)
    held = {child: watched_inodes(child) & listening for child in children(parent)}
    return {child: inodes for child, inodes in held.items() if inodes}


def one_socket_each(parent: int, port: int, workers: int) -> dict[int, set[int]] | None:
    """The layout, if ``workers`` workers each accept on exactly one of the port's sockets, all different; else
    None."""
    current = layout(parent, port)
    sockets = {next(iter(inodes)) for inodes in current.values() if len(inodes) == 1}
    if len(current) == workers and len(sockets) == workers and sockets == listening_inodes(port):
        return current
    return None


def wait_for_one_socket_each(parent: int, port: int, workers: int, timeout: float = 60) -> dict[int, set[int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = one_socket_each(parent, port, workers)
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not one socket per worker after {timeout}s: {layout(parent, port)}")


def stand_in_worker(sockets: list, conn: Connection) -> None:
    """Spawned with a ``WorkerSockets``: reports the slot and socket inodes it ended up with, then waits."""
    held = list(sockets)  # the first read claims
    conn.send((getattr(sockets, "slot", None), sorted(os.fstat(s.fileno()).st_ino for s in held), len(sockets)))
    with contextlib.suppress(EOFError):
        conn.recv()  # until told to exit, or the pipe closes
