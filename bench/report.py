"""Tables, ratios, targets, the JSON record and the chart of one benchmark run."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from server.settings import PROJECT_ROOT

# Backlog is compared with each of these; the ratio is Backlog's figure over theirs.
BASELINES = ("postgraphile", "postgraphile5", "n+1", "floor", "backlog-plain", "backlog-unlimited")
TARGET_CONCURRENCY = 16  # the p99 target is defined at this concurrency


@dataclass
class Run:
    """One measured wrk run of one server, workload, worker count and concurrency."""

    server: str
    workload: str
    workers: int
    concurrency: int
    duration_s: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    error_detail: dict[str, int]
    server_cpu_ms_per_request: float
    db_cpu_ms_per_request: float | None  # None: the database's processes are not visible
    peak_rss_mb: float
    statements_per_operation: float | None = None  # None: not measurable for this server
    # Write workloads: the rows the run wrote (bench/baseline.py Written), and the mean number
    # of the database's connections per state during it (bench/dbwaits.py).
    written: dict[str, int] | None = None
    db_waits: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.server, self.workload, self.workers, self.concurrency)


@dataclass
class Target:
    name: str
    value: float | None
    threshold: str
    passed: bool | None  # None: not measured in this run
    detail: str = ""

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _index(runs: Iterable[Run]) -> dict[tuple[str, str, int, int], Run]:
    return {run.key: run for run in runs}


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _rps_ratio(run: Run, peer: Run | None) -> float | None:
    """Backlog's req/s over a peer's; infinite when the peer completed no request at all."""
    if peer is None:
        return None
    if peer.requests == 0 and run.requests > 0:
        return math.inf
    return _ratio(run.requests_per_s, peer.requests_per_s)


def ratios(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """For every combination Backlog ran: Backlog over each baseline that ran it too."""
    by_key = _index(runs)
    rows = []
    for run in runs:
        if run.server != "backlog":
            continue
        row: dict[str, Any] = {
            "workload": run.workload,
            "workers": run.workers,
            "concurrency": run.concurrency,
        }
        for other in BASELINES:
            peer = by_key.get((other, run.workload, run.workers, run.concurrency))
            row[f"rps_vs_{other}"] = _rps_ratio(run, peer)
            row[f"p99_vs_{other}"] = _ratio(run.p99_ms, peer and peer.p99_ms)
        rows.append(row)
    return rows


# (server, workload) -> why that server has no equivalent of that workload: its "n/a".
NotComparable = dict[tuple[str, str], str]


POSTGRAPHILES = ("postgraphile", "postgraphile5")
"""Issue 14's peers: each target is against the faster of the two in the same run."""


def targets(runs: Sequence[Run], not_comparable: NotComparable | None = None) -> list[Target]:
    """The performance targets, one line per combination where both sides ran."""
    by_key = _index(runs)
    lacking = not_comparable or {}
    found: list[Target] = []

    def named(other: str) -> Callable[[Run], Run | None]:
        return lambda run: by_key.get((other, run.workload, run.workers, run.concurrency))

    def faster_postgraphile(run: Run) -> Run | None:
        peers = [named(other)(run) for other in POSTGRAPHILES]
        present = [peer for peer in peers if peer is not None]
        return max(present, key=lambda peer: peer.requests_per_s, default=None)

    def against(
        peer_of: Callable[[Run], Run | None],
        workload: str,
        name: str,
        threshold: str,
        figure: Callable[[Run, Run], float | None],
        ok: Callable[[float], bool],
        only_concurrency: int | None = None,
        lacking_key: str = "postgraphile",
    ) -> None:
        pairs = [
            (run, peer_of(run))
            for run in runs
            if run.server == "backlog" and run.workload == workload
            if only_concurrency is None or run.concurrency == only_concurrency
        ]
        measured = [(run, peer) for run, peer in pairs if peer is not None]
        if not measured:
            why = lacking.get((lacking_key, workload), "not measured in this run")
            found.append(Target(name, None, threshold, None, why))
        for run, peer in measured:
            value = figure(run, peer)
            where = f"workers={run.workers} c={run.concurrency} vs {peer.server}"
            passed = None if value is None else ok(value)
            found.append(Target(f"{name} ({where})", value, threshold, passed))

    # Issue 14's goal, on every read view both PostGraphiles answer: against the faster one.
    for workload in dict.fromkeys(run.workload for run in runs):
        peer = f"{workload} vs the faster PostGraphile"
        against(faster_postgraphile, workload, f"{peer}: req/s", ">= 1.0x", _rps_ratio, _ge(1.0))
        for figure_name, bound, figure, only_concurrency in _AT_MOST_THE_FASTER_POSTGRAPHILES:
            against(
                faster_postgraphile,
                workload,
                f"{peer}: {figure_name}",
                f"<= {bound:.1f}x",
                _ratio_of(figure),
                _le(bound),
                only_concurrency=only_concurrency,
            )
    against(
        named("n+1"), "list", "list: N+1 slower than Backlog", ">= 5.0x", _rps_ratio, _ge(5.0),
        lacking_key="n+1",
    )  # fmt: skip
    for workload in ("list", "detail"):
        against(
            named("backlog-unlimited"),
            workload,
            f"{workload} req/s with rate limits vs without",
            ">= 0.95x",
            _rps_ratio,
            _ge(0.95),
            lacking_key="backlog-unlimited",
        )
    failed = [run for run in runs if run.errors]
    found.append(
        Target(
            "zero errors",
            float(sum(run.errors for run in runs)),
            "== 0",
            not failed,
            ", ".join(f"{r.server}/{r.workload} w{r.workers} c{r.concurrency}" for r in failed),
        )
    )
    return found


def _total_cpu(run: Run) -> float | None:
    if run.db_cpu_ms_per_request is None:
        return None
    return run.server_cpu_ms_per_request + run.db_cpu_ms_per_request


def _ge(bound: float) -> Callable[[float], bool]:
    return lambda value: value >= bound


def _le(bound: float) -> Callable[[float], bool]:
    return lambda value: value <= bound


def _ratio_of(figure: Callable[[Run], float | None]) -> Callable[[Run, Run], float | None]:
    """A run's `figure` over its peer's."""
    return lambda run, peer: _ratio(figure(run), figure(peer))


# Figures where less is better: (name, Backlog's at most this many times the faster
# PostGraphile's, the figure, the one concurrency it is judged at or None for every one).
_AT_MOST_THE_FASTER_POSTGRAPHILES: tuple[
    tuple[str, float, Callable[[Run], float | None], int | None], ...
] = (
    ("p99", 1.5, lambda run: run.p99_ms, TARGET_CONCURRENCY),
    ("server + DB CPU per request", 1.0, _total_cpu, None),
    ("DB CPU per request", 1.0, lambda run: run.db_cpu_ms_per_request, None),
)


# -- text -----------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "∞" if math.isinf(value) else f"{value:.2f}x"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i >= right_from else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths).rstrip()
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def raw_table(runs: Sequence[Run]) -> str:
    headers = (
        "server", "workload", "workers", "conc", "req/s", "p50 ms", "p95 ms", "p99 ms",
        "errors", "srv CPU ms/req", "DB CPU ms/req", "peak RSS MB", "SQL/op",
    )  # fmt: skip
    rows = [
        (
            r.server,
            r.workload,
            str(r.workers),
            str(r.concurrency),
            _fmt(r.requests_per_s),
            _fmt(r.p50_ms, 2),
            _fmt(r.p95_ms, 2),
            _fmt(r.p99_ms, 2),
            f"{r.errors} !!" if r.errors else "0",
            _fmt(r.server_cpu_ms_per_request, 2),
            _fmt(r.db_cpu_ms_per_request, 2),
            _fmt(r.peak_rss_mb, 0),
            _fmt(r.statements_per_operation, 1),
        )
        for r in runs
    ]
    return _table(headers, rows, right_from=2)


def ratio_table(rows: Sequence[dict[str, Any]]) -> str:
    headers = (
        "workload", "workers", "conc", "÷PG req/s", "÷PG p99", "÷PG5 req/s", "÷PG5 p99",
        "÷N+1 req/s", "÷floor req/s",
        "÷plain req/s", "÷unlimited req/s",
    )  # fmt: skip
    cells = [
        (
            row["workload"],
            str(row["workers"]),
            str(row["concurrency"]),
            _times(row["rps_vs_postgraphile"]),
            _times(row["p99_vs_postgraphile"]),
            _times(row["rps_vs_postgraphile5"]),
            _times(row["p99_vs_postgraphile5"]),
            _times(row["rps_vs_n+1"]),
            _times(row["rps_vs_floor"]),
            _times(row["rps_vs_backlog-plain"]),
            _times(row["rps_vs_backlog-unlimited"]),
        )
        for row in rows
    ]
    return _table(headers, cells, right_from=1)


def target_table(found: Sequence[Target]) -> str:
    rows = [
        (t.name, t.threshold, _times(t.value) if t.name != "zero errors" else _fmt(t.value, 0),
         t.verdict, t.detail)
        for t in found
    ]  # fmt: skip
    return _table(("target", "wanted", "measured", "verdict", ""), rows, right_from=99)


def writes_table(runs: Sequence[Run]) -> str:
    """The runs that wrote: rows written per request, and what the database's connections
    were doing (mean number in each state, bench/dbwaits.py)."""
    headers = (
        "server", "workload", "workers", "conc", "req/s", "p99 ms", "issues+/req",
        "activity/req", "busy", "running", "stream lock", "row locks", "I/O", "in app",
    )  # fmt: skip
    rows = []
    for r in runs:
        if r.written is None:
            continue
        waits = r.db_waits or {}
        per_request = max(r.requests, 1)
        rows.append(
            (
                r.server,
                r.workload,
                str(r.workers),
                str(r.concurrency),
                _fmt(r.requests_per_s),
                _fmt(r.p99_ms, 2),
                _fmt(r.written["issues_created"] / per_request, 2),
                _fmt(r.written["activity_appended"] / per_request, 2),
                *(
                    _fmt(waits.get(state), 1)
                    for state in ("busy", "running", "stream_lock", "row_locks", "io", "in_app")
                ),
            )
        )
    return _table(headers, rows, right_from=2)


def print_report(
    runs: Sequence[Run], notes: Sequence[str], not_comparable: NotComparable | None = None
) -> list[Target]:
    ratio_rows = ratios(runs)
    found = targets(runs, not_comparable)
    print()
    print("Raw figures. CPU per request: the server's whole process tree, and every PostgreSQL")
    print("process. Peak RSS: the server's tree, highest since it started (summed over its")
    print("processes). SQL/op: statements per operation, transaction control excluded.")
    print(raw_table(runs))
    if any(run.written is not None for run in runs):
        print()
        print("Writes. Rows written per completed request (issues created, activity log entries;")
        print("requests still in flight when wrk stopped add a little), and the database's")
        print("connections (mean number): in a transaction, running, waiting for a workspace's")
        print("activity stream lock, for row locks, for I/O (WAL), or for the server (in app).")
        print(writes_table(runs))
    if ratio_rows:
        print()
        print("Backlog ÷ others (req/s: > 1 means Backlog serves more; p99: < 1 means faster;")
        print("n/a: the peer did not run it)")
        print(ratio_table(ratio_rows))
    for (server, workload), why in (not_comparable or {}).items():
        print(f"n/a: {server} x {workload}: {why}")
    print()
    print("Targets")
    print(target_table(found))
    for note in notes:
        print(f"note: {note}")
    return found


def targets_met(found: Sequence[Target]) -> str:
    """The verdict line: targets passed of those this run measured (n/a ones are not counted)."""
    judged = [t for t in found if t.passed is not None]
    line = f"targets met: {sum(t.passed is True for t in judged)} of {len(judged)}"
    if unmeasured := len(found) - len(judged):
        line += f" ({unmeasured} not measured in this run)"
    return line


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine_ticks() -> tuple[int, int]:
    """The whole machine's busy and total clock ticks so far (/proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks[:8]) - idle, sum(ticks[:8])  # guest time is already in user


def busy_between(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How many CPUs' worth of work the machine did between two `machine_ticks()`."""
    share = (after[0] - before[0]) / max(after[1] - before[1], 1)
    return share * (os.cpu_count() or 1)


def busy_cpus(seconds: float = 1.0) -> float:
    """How many CPUs' worth of work the whole machine did over `seconds` (/proc/stat)."""
    before = machine_ticks()
    time.sleep(seconds)
    return busy_between(before, machine_ticks())


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": os.getloadavg(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def percentile(ordered: list[float], fraction: float) -> float:
    """The value at `fraction` of the sorted `ordered` (nearest rank); NaN when it is empty."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- files ----------------------------------------------------------------------------------


def write_bench_json(
    results_dir: Path, name: str, options: Any, elapsed: float, **results: Any
) -> Path:
    """`<results_dir>/<name>-<UTC time>.json` of a bench of its own (`live`, `outbox`): when,
    how long, its options (a dataclass), the machine, `results`. Returns the path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}-{stamp}.json"
    record = {
        "timestamp": stamp,
        "elapsed_s": round(elapsed, 1),
        "settings": {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(options).items()
        },
        "machine": machine(),
        **results,
    }
    path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    return path


def write_json(
    path: Path,
    record: dict[str, Any],
    runs: Sequence[Run],
    not_comparable: NotComparable | None = None,
) -> None:
    lacking = not_comparable or {}
    full = {
        **record,
        "runs": [asdict(run) for run in runs],
        "ratios": ratios(runs),
        "targets": [asdict(t) | {"verdict": t.verdict} for t in targets(runs, lacking)],
        "not_comparable": [
            {"server": server, "workload": workload, "why": why}
            for (server, workload), why in lacking.items()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(full), indent=2, default=str) + "\n")


def _finite(value: Any) -> Any:
    """JSON has no infinity: an infinite ratio (the peer completed nothing) is written "inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def copy_as(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


def write_chart(
    path: Path, runs: Sequence[Run], servers: Sequence[str], workers: int, concurrency: int
) -> bool:
    """Bars per server and workload at one combination; False when nothing ran there."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    chosen = [r for r in runs if r.workers == workers and r.concurrency == concurrency]
    if not chosen:
        return False
    by_key = {(r.server, r.workload): r for r in chosen}
    workloads = list(dict.fromkeys(r.workload for r in chosen))
    shown = [s for s in servers if any((s, w) in by_key for w in workloads)]
    colors = dict(zip(shown, plt.get_cmap("tab10").colors, strict=False))
    width = 0.8 / max(len(shown), 1)

    cpu = {
        key: (run.server_cpu_ms_per_request, run.db_cpu_ms_per_request or 0.0)
        for key, run in by_key.items()
    }
    cap = _cpu_axis_cap([s + d for s, d in cpu.values()])

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 9), constrained_layout=True)
    for i, server in enumerate(shown):
        xs = [w + (i - (len(shown) - 1) / 2) * width for w in range(len(workloads))]
        found = [by_key.get((server, w)) for w in workloads]
        rps = [r.requests_per_s if r else 0.0 for r in found]
        bars = top.bar(xs, rps, width * 0.95, label=server, color=colors[server])
        top.bar_label(
            bars, labels=[f"{v:,.0f}" if r else "" for v, r in zip(rps, found, strict=True)],
            fontsize=8,
        )  # fmt: skip
        srv = [cpu[(server, w)][0] if (server, w) in cpu else 0.0 for w in workloads]
        db = [cpu[(server, w)][1] if (server, w) in cpu else 0.0 for w in workloads]
        bottom.bar(xs, srv, width * 0.95, color=colors[server])
        bottom.bar(xs, db, width * 0.95, bottom=srv, color=colors[server], alpha=0.4, hatch="//")
        for x, s, d, r in zip(xs, srv, db, found, strict=True):
            if r is None:
                continue
            total = s + d
            # A bar past the cap is cut there, its value printed with an arrow.
            label = f"{total:,.1f}" if total <= cap else f"{total:,.0f} ↑"
            bottom.annotate(
                label, (x, min(total, cap)), ha="center", va="bottom", fontsize=8,
                xytext=(0, 2), textcoords="offset points",
            )  # fmt: skip
    for axis in (top, bottom):
        axis.set_xticks(range(len(workloads)), workloads)
        axis.grid(axis="y", alpha=0.3)
        axis.set_axisbelow(True)
    top.set_ylabel("requests / s (higher is better)")
    top.set_title(f"Throughput, workers={workers}, concurrency={concurrency}")
    top.legend(fontsize=9)
    bottom.set_ylabel("CPU ms / request (lower is better)")
    bottom.set_title("CPU per request: server (solid) + PostgreSQL (hatched)")
    bottom.set_ylim(0, cap * 1.08)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _cpu_axis_cap(totals: Sequence[float]) -> float:
    """The CPU axis' top: the N+1 baseline can cost tens of times what the others do, and a
    linear axis up to it would flatten every other bar, so outliers are cut off."""
    positive = sorted(t for t in totals if t > 0)
    if not positive:
        return 1.0
    median = positive[len(positive) // 2]
    usual = [t for t in positive if t <= 5 * median]
    return max(usual) * 1.15
