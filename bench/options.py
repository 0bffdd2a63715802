"""The command line of `python -m bench`: which servers, workloads and load, and for how long."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import servers
from bench.workloads import DEFAULT_WORKLOADS, WORKLOADS
from server.settings import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
BENCH_SCALES = ("small", "medium", "large")
# Backlog and PostGraphile (4 and 5) run the whole --workers x --concurrency matrix; the others
# only the first combination, which is what their comparison needs and keeps the default run
# short.
FULL_MATRIX = ("backlog", "postgraphile", "postgraphile5")

# Exit statuses (the epilog below): a missed target is a finding, reported as FAIL; these mean
# the run itself failed.
REQUESTS_FAILED = 1
CHECK_FAILED = 2
INTERRUPTED = 130


def stopped_early(
    bench: str, error: BaseException, servers_stopped: str = "servers and PostgreSQL"
) -> int:
    """Says on stderr why `bench` ended before its report (its `finally` blocks have stopped
    `servers_stopped` by then); the exit status: INTERRUPTED for Ctrl-C (or SIGTERM),
    CHECK_FAILED for a server that failed or answered wrong."""
    if isinstance(error, KeyboardInterrupt):
        print(f"\ninterrupted; {servers_stopped} stopped", file=sys.stderr)
        return INTERRUPTED
    print(f"\n{bench} stopped: {error}", file=sys.stderr)
    return CHECK_FAILED


def build_parser(description: str | None) -> argparse.ArgumentParser:
    workloads = "\n".join(f"  {name:<12} {w.help}" for name, w in WORKLOADS.items())
    lacking = "\n".join(
        f"  {server} x {name}: {why}"
        for name, w in WORKLOADS.items()
        for server, why in w.not_for.items()
    )
    server_help = "\n".join(f"  {name:<14} {s.help}" for name, s in servers.SERVERS.items())
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            f"servers:\n{server_help}\n\nworkloads:\n{workloads}\n\n"
            f"no equivalent (n/a in the report, not run):\n{lacking}\n\n"
            "Every server runs at the first --workers and --concurrency value; backlog,\n"
            "postgraphile and postgraphile5 also at every other combination. Each measured\n"
            "run follows a warm-up run whose figures are discarded. The database is the embedded\n"
            "PostgreSQL in --data-dir, or DATABASE_URL when set; it is migrated, and seeded\n"
            "only when empty; what the write workloads change is undone after each of their\n"
            "runs (bench/baseline.py). A missed target is a FAIL line in the report, not a\n"
            "failed run.\n"
            "Exit status: 0 when everything was measured, 1 when requests failed during a\n"
            "run, 2 when a check stops the run, 130 when interrupted."
        ),
    )
    parser.add_argument(
        "--scale",
        choices=BENCH_SCALES,
        default="small",
        help="how much data to seed (server.seed.SCALES; default: small, 10,000 issues)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder of the embedded PostgreSQL's pgdata (default: bench/.data/<scale>)",
    )
    parser.add_argument(
        "--servers",
        default=",".join(servers.SERVERS),
        help="comma-separated servers to run (default: all)",
    )
    parser.add_argument(
        "--workloads",
        default=",".join(DEFAULT_WORKLOADS),
        help="comma-separated workloads to run (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", help="comma-separated worker processes per server (default: 1,2)"
    )
    parser.add_argument(
        "--concurrency", help="comma-separated open connections of wrk (default: 16,64)"
    )
    parser.add_argument("--duration", type=float, help="seconds of each measured run (default: 10)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of the discarded warm-up run before each measured one (default: 2)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: --duration 3 --workers 1 --concurrency 16 unless given",
    )
    parser.add_argument(
        "--soak",
        type=float,
        metavar="SECONDS",
        help=(
            "instead of the comparison: one backlog worker under the mixed workload for SECONDS "
            "(at the first --concurrency), its resident memory per minute and whether it stays "
            "within 10%% of minute 5 (bench/soak.py; e.g. --soak 1800)"
        ),
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help="where the JSON and the chart go (default: bench/results)",
    )
    return parser


def data_dir_of(args: argparse.Namespace) -> Path:
    """The folder of the embedded PostgreSQL: `--data-dir`, or bench/.data/<scale>."""
    path: Path = (args.data_dir or BENCH_DIR / ".data" / args.scale).resolve()
    return path


@dataclass(frozen=True)
class Options:
    scale: str
    data_dir: Path
    servers: tuple[str, ...]
    workloads: tuple[str, ...]
    workers: tuple[int, ...]
    concurrency: tuple[int, ...]
    duration_s: float
    warmup_s: float
    results_dir: Path
    quick: bool
    soak_s: float | None = None

    def workloads_for(self, server: str) -> tuple[str, ...]:
        """The chosen workloads that `server` has an equivalent of."""
        return tuple(name for name in self.workloads if WORKLOADS[name].runs_on(server))

    def not_comparable(self) -> dict[tuple[str, str], str]:
        """(server, workload) -> why that server does not run that chosen workload."""
        return {
            (server, name): WORKLOADS[name].not_for[server]
            for name in self.workloads
            for server in self.servers
            if not WORKLOADS[name].runs_on(server)
        }

    def plan(self) -> list[tuple[str, int, tuple[int, ...]]]:
        """(server, workers, concurrencies) per server start, in run order; a server with
        nothing to run is not started."""
        planned = []
        for name in self.servers:
            if not self.workloads_for(name):
                continue
            full = name in FULL_MATRIX
            for workers in self.workers if full else self.workers[:1]:
                planned.append((name, workers, self.concurrency if full else self.concurrency[:1]))
        return planned

    def runs(self) -> int:
        return sum(len(c) * len(self.workloads_for(name)) for name, _, c in self.plan())


def parse_options(argv: Sequence[str] | None, description: str | None) -> Options:
    """`description` heads --help: the command's own docstring, in bench/__main__.py."""
    parser = build_parser(description)
    args = parser.parse_args(argv)

    def numbers(value: str | None, quick: str, default: str, what: str) -> tuple[int, ...]:
        raw = value if value is not None else quick if args.quick else default
        try:
            found = tuple(dict.fromkeys(int(part) for part in raw.split(",") if part.strip()))
        except ValueError:
            parser.error(f"--{what} takes comma-separated integers, not {raw!r}")
        if not found or min(found) < 1:
            parser.error(f"--{what} needs positive integers")
        return found

    def names(value: str, known: dict[str, Any], what: str) -> tuple[str, ...]:
        found = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        unknown = [name for name in found if name not in known]
        if unknown or not found:
            parser.error(f"--{what}: choose among {', '.join(known)}")
        return found

    duration = args.duration if args.duration is not None else 3.0 if args.quick else 10.0
    if duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")
    if args.soak is not None and args.soak < 60:
        parser.error("--soak needs at least 60 seconds (it reports RSS per minute)")
    return Options(
        scale=args.scale,
        data_dir=data_dir_of(args),
        servers=names(args.servers, servers.SERVERS, "servers"),
        workloads=names(args.workloads, WORKLOADS, "workloads"),
        workers=numbers(args.workers, "1", "1,2", "workers"),
        concurrency=numbers(args.concurrency, "16", "16,64", "concurrency"),
        duration_s=duration,
        warmup_s=args.warmup,
        results_dir=args.results_dir.resolve(),
        quick=args.quick,
        soak_s=args.soak,
    )


@dataclass(frozen=True)
class WriteBenchOptions:
    """What a bench of `issueUpdate` writes to Backlog (`live`, `outbox`) is given besides its
    own options: how long and how fast to write, and the data (`parse_write_bench`)."""

    seconds: float
    rate: float
    scale: str
    data_dir: Path
    results_dir: Path

    def bench_options(self) -> Options:
        """The `Options` of such a bench: what `open_database` reads of them."""
        return Options(
            scale=self.scale,
            data_dir=self.data_dir,
            servers=("backlog",),
            workloads=("issueUpdate",),
            workers=(1,),
            concurrency=(1,),
            duration_s=self.seconds,
            warmup_s=0.0,
            results_dir=self.results_dir,
            quick=False,
        )


def write_bench_parser(
    prog: str, description: str | None, *, seconds_help: str, rate: float
) -> argparse.ArgumentParser:
    """The command line of a bench of writes, with `--seconds` and `--rate` (writes/s); the
    bench adds its own arguments, then reads them with `parse_write_bench`."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help=f"{seconds_help} (default: %(default)g)"
    )
    parser.add_argument("--rate", type=float, default=rate, help=f"writes/s (default: {rate:g})")
    return parser


def parse_write_bench(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[argparse.Namespace, dict[str, Any]]:
    """`argv` read by a `write_bench_parser`, to which `--scale`, `--data-dir` and
    `--results-dir` are added last: the arguments, and WriteBenchOptions' fields of them."""
    parser.add_argument("--scale", choices=BENCH_SCALES, default="small")
    parser.add_argument("--data-dir", type=Path, help="default: bench/.data/<scale>")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0:
        parser.error("--seconds and --rate must be positive")
    fields = {
        "seconds": args.seconds,
        "rate": args.rate,
        "scale": args.scale,
        "data_dir": data_dir_of(args),
        "results_dir": args.results_dir.resolve(),
    }
    return args, fields
