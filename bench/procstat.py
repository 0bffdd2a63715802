"""CPU and memory spent by process trees (a server and its workers, PostgreSQL), from /proc.

Linux only and dependency-free on purpose: the figures come straight from the kernel's
per-process accounting, which is what a benchmark comparing servers needs to be fair.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class _Stat:
    ppid: int
    start: int  # boot-relative start time in ticks: tells a reused pid from the original
    self_ticks: int  # utime + stime
    child_ticks: int  # cutime + cstime: children (and theirs) already waited for


def _read_stat(pid: int) -> _Stat | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone, or not ours to read
        return None
    # comm (field 2) may itself hold spaces and parentheses, so split after its last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is stat field 3 (state), so stat field n is fields[n - 3].
    return _Stat(
        ppid=int(fields[1]),
        start=int(fields[19]),
        self_ticks=int(fields[11]) + int(fields[12]),
        child_ticks=int(fields[13]) + int(fields[14]),
    )


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _parents() -> dict[int, int]:
    parents = {}
    for pid in _all_pids():
        stat = _read_stat(pid)
        if stat is not None:
            parents[pid] = stat.ppid
    return parents


def process_tree(pid: int) -> list[int]:
    """`pid` and all its living descendants (e.g. uvicorn or PostGraphile cluster workers)."""
    return _trees([pid])


def _trees(roots: Iterable[int]) -> list[int]:
    # One scan of /proc for the whole set: /proc/<pid>/task/*/children needs a kernel option
    # and misses children of non-main threads, the ppid field does not.
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = [pid for pid in roots if (PROC / str(pid)).exists()]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return sorted(found)


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU (user + system) the living processes have used themselves since they started.

    Reaped children's time (cutime/cstime) is left out: it is whole lifetimes, not tied to
    any window. To measure a window, use CpuMeter.
    """
    ticks = 0
    for pid in pids:
        stat = _read_stat(pid)
        if stat is not None:
            ticks += stat.self_ticks
    return ticks / _CLK_TCK


_Snapshot = dict[tuple[int, int], _Stat]  # keyed by (pid, start time)


def _snapshot(pids: Iterable[int]) -> _Snapshot:
    snap = {}
    for pid in pids:
        stat = _read_stat(pid)
        if stat is not None:
            snap[(pid, stat.start)] = stat
    return snap


def _window_ticks(before: _Snapshot, after: _Snapshot) -> int:
    """Ticks spent between the snapshots by the tracked processes, living or since reaped.

    Survivors count their own time growth. A process that exited inside the window shows up
    only in its parent's cutime, as its whole lifetime: if the parent was tracked and lives,
    that lifetime is in the growth of the parent's child_ticks, so subtracting what the exited
    process had already used at the start leaves just its share of the window. Processes both
    born and reaped inside the window (short-lived PostgreSQL backends) count in full, as they
    should. One that exited with no tracked living ancestor to reap it is left out.
    """
    ticks = sum(s.self_ticks + s.child_ticks for s in after.values())
    key_of = {key[0]: key for key in before}
    for key, stat in before.items():
        if key in after or _reaped_by_survivor(key, before, after, key_of):
            ticks -= stat.self_ticks + stat.child_ticks
    return ticks


def _reaped_by_survivor(
    key: tuple[int, int], before: _Snapshot, after: _Snapshot, key_of: dict[int, tuple[int, int]]
) -> bool:
    # Walk up the parents as they were at the start: an exited parent passed its reaped
    # children's time on to its own parent when that one reaped it in turn.
    seen: set[tuple[int, int]] = set()
    while key not in seen:
        seen.add(key)
        parent = key_of.get(before[key].ppid)
        if parent is None:
            return False
        if parent in after:
            return True
        key = parent
    return False


class CpuMeter:
    """CPU seconds a changing set of process trees spends between start() and stop().

    pids_provider is called at both ends (so workers or database backends that appear during
    the window are counted from zero) and every pid it returns is widened to its whole tree,
    because an untracked child's CPU would otherwise reach us later through its parent's
    cutime with its entire lifetime.
    """

    def __init__(self) -> None:
        self._provider: Callable[[], Iterable[int]] | None = None
        self._before: _Snapshot = {}

    def start(self, pids_provider: Callable[[], Iterable[int]]) -> None:
        self._provider = pids_provider
        self._before = _snapshot(_trees(pids_provider()))

    def stop(self) -> float:
        if self._provider is None:
            raise RuntimeError("CpuMeter.stop() called before start()")
        after = _snapshot(_trees(self._provider()))
        ticks = _window_ticks(self._before, after)
        self._provider = None
        return max(ticks, 0) / _CLK_TCK


def _status_kib(pid: int, field: str) -> int:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:  # gone, or not ours to read
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # "VmHWM:   12345 kB"
    return 0  # kernel threads and zombies have no Vm* lines


def peak_rss_mb(pids: Iterable[int]) -> float:
    """Sum of each process's peak resident set (VmHWM), in MiB.

    An upper bound: peaks need not coincide, and pages shared between processes (forked
    workers, PostgreSQL shared_buffers) count once per process that touched them.
    """
    return sum(_status_kib(pid, "VmHWM") for pid in pids) / 1024


def rss_mb(pids: Iterable[int]) -> float:
    """Sum of each process's current resident set (VmRSS), in MiB; shared pages count repeatedly."""
    return sum(_status_kib(pid, "VmRSS") for pid in pids) / 1024


def pss_mb(pids: Iterable[int]) -> float:
    """Current proportional set size summed, in MiB: shared pages split between their users,
    so unlike rss_mb the sum over a forking server or PostgreSQL is not inflated."""
    total = 0
    for pid in pids:
        try:
            text = (PROC / str(pid) / "smaps_rollup").read_text()
        except OSError:  # gone, or not ours to read
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
                break
    return total / 1024


def _comm(pid: int) -> str | None:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:  # gone, or not ours to read
        return None


def postgres_pids(data_dir: Path | None = None) -> list[int]:
    """The PostgreSQL server processes: postmaster, backends and background workers.

    With data_dir, those of that cluster only (the postmaster's tree); without, every
    process named `postgres` on the machine. Empty when the server is not running.
    """
    if data_dir is None:
        return sorted(pid for pid in _all_pids() if _comm(pid) == "postgres")
    try:
        first_line = (Path(data_dir) / "postmaster.pid").read_text().split("\n", 1)[0]
        postmaster = int(first_line.strip())
    except (FileNotFoundError, ValueError):
        return []
    # A postmaster.pid left by a crash may name a pid now reused by something else.
    if _comm(postmaster) != "postgres":
        return []
    return process_tree(postmaster)
