"""`python -m bench`: Backlog against PostGraphile, an N+1 baseline, graphql-core's executor and
a raw-SQL floor, each a real server process loaded with wrk on the same seeded PostgreSQL.
With `--soak SECONDS`, instead: one Backlog worker's resident memory under steady load
(bench/soak.py). `python -m bench live [--help]`: subscriptions over WebSockets, delivered while
writes go through the API (bench/live.py). `python -m bench outbox [--help]`: outbox lag, from a
write's commit to its webhook delivery (bench/outbox.py).

Before anything is measured, every server's answer to every document of the chosen workloads is
checked (data, no errors, the same rows as Backlog's), and the floor is checked to send exactly
Backlog's SQL. What the write workloads write is undone after each of their runs. Results go to
bench/results/ (JSON with every figure, and a chart).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from bench import live, outbox, postgraphile, postgraphile5, protection, report, servers, soak
from bench.database import DatabaseInfo, open_database
from bench.load import ensure_wrk
from bench.measure import (
    STATEMENT_SAMPLES,
    Measured,
    Reference,
    compare_statement_sources,
    in_process_reference,
    operations_by_document,
    run_matrix,
)
from bench.options import (
    BENCH_DIR,
    REQUESTS_FAILED,
    Options,
    parse_options,
    stopped_early,
)
from bench.workloads import CheckError

POSTGRAPHILE_DIR = BENCH_DIR / ".postgraphile"
POSTGRAPHILE5_DIR = BENCH_DIR / ".postgraphile5"


def _terminate(signum: int, frame: Any) -> NoReturn:
    # SIGTERM takes the same way out as Ctrl-C: through every `finally`, which stop the servers.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args[:1] == ["live"]:
        return live.main(args[1:])
    if args[:1] == ["outbox"]:
        return outbox.main(args[1:])
    options = parse_options(args, description=__doc__)
    if options.soak_s is not None:
        return _soak(options, options.soak_s)
    began = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    notes: list[str] = []
    host = report.machine()
    host["busy_cpus_at_start"] = round(report.busy_cpus(), 2)
    if host["busy_cpus_at_start"] > 0.25:
        notes.append(
            f"other processes kept {host['busy_cpus_at_start']:.2f} of the {host['nproc']} "
            "CPUs busy when the bench started: figures are noisier"
        )
    per_run = options.warmup_s + options.duration_s
    print(
        f"{options.runs()} measured runs of {options.duration_s:g} s (+{options.warmup_s:g} s "
        f"warm-up) over {len(options.plan())} server starts: about "
        f"{options.runs() * per_run / 60:.1f} min of load",
        flush=True,
    )
    try:
        ensure_wrk()
        installed = {}
        if "postgraphile" in options.servers:
            installed["postgraphile"] = postgraphile.install(POSTGRAPHILE_DIR)
        if "postgraphile5" in options.servers:
            installed["postgraphile5"] = postgraphile5.install(POSTGRAPHILE5_DIR)
        with open_database(options, notes) as db:
            assert db.targets is not None
            if not db.pg_stat_statements:
                notes.append("pg_stat_statements unavailable: SQL/op counted in process")
            print(
                f"PostgreSQL {db.version}: {db.rows.get('issues', 0):,} issues, "
                f"{db.rows.get('comments', 0):,} comments; detail issue id "
                f"{db.targets.detail_issue_pk} ({db.targets.detail_issue_id})",
                flush=True,
            )
            print("Checking every answer and the floor's SQL in process ...", flush=True)
            reference = asyncio.run(in_process_reference(db.url, options, db.targets, notes))
            for (server, document), statements in sorted(reference.statements.items()):
                print(f"   {server:<14} {document:<11} {len(statements)} statements", flush=True)
            print("Measuring what cost analysis and rate limits add, in process ...", flush=True)
            protection_figures = protection.measure(
                db.url, operations_by_document(options.workloads, db.targets)
            )
            measured = run_matrix(options, db, reference, installed, notes)
            compare_statement_sources(measured, reference, notes)
    except (CheckError, servers.ServerError, KeyboardInterrupt) as error:
        return stopped_early("bench", error)

    elapsed = time.monotonic() - began
    found = report.print_report(measured.runs, notes, options.not_comparable())
    protection.print_report(protection_figures)
    host["load_average_end"] = os.getloadavg()
    record = _record(options, stamp, elapsed, host, db, measured, reference, notes)
    record["protection"] = protection_figures
    _write_results(options, stamp, record, measured)
    print(f"Took {elapsed / 60:.1f} min.")
    print(report.targets_met(found))
    failed = [run for run in measured.runs if run.errors]
    if failed:
        print(
            f"bench failed: {sum(run.errors for run in failed)} request errors in "
            f"{len(failed)} of {len(measured.runs)} runs (the errors column above)",
            file=sys.stderr,
        )
        return REQUESTS_FAILED
    return 0


def _soak(options: Options, seconds: float) -> int:
    notes: list[str] = []
    try:
        with open_database(options, notes) as db:
            status = soak.run_soak(options, db, seconds)
    except (servers.ServerError, KeyboardInterrupt) as error:
        return stopped_early("soak", error, "the server and PostgreSQL")
    for note in notes:
        print(f"note: {note}")
    return status


def _record(
    options: Options,
    stamp: str,
    elapsed: float,
    host: dict[str, Any],
    db: DatabaseInfo,
    measured: Measured,
    reference: Reference,
    notes: list[str],
) -> dict[str, Any]:
    """Everything about the run but its runs, ratios and targets, which report adds."""
    assert db.targets is not None
    return {
        "timestamp": stamp,
        "elapsed_s": round(elapsed, 1),
        "settings": {
            "scale": options.scale,
            "servers": options.servers,
            "workloads": options.workloads,
            "workers": options.workers,
            "concurrency": options.concurrency,
            "duration_s": options.duration_s,
            "warmup_s": options.warmup_s,
            "quick": options.quick,
            "db_pool_size": servers.DB_POOL_SIZE,
            "statement_samples": STATEMENT_SAMPLES,
        },
        "machine": host,
        "database": {
            "postgres": db.version,
            "embedded": not os.environ.get("DATABASE_URL"),
            "rows": db.rows,
            "seeded_this_run": db.seeded_now,
            "pg_stat_statements": db.pg_stat_statements,
            "detail_issue_pk": db.targets.detail_issue_pk,
            "postgraphile": postgraphile.POSTGRAPHILE_VERSION,
            "postgraphile5": postgraphile5.POSTGRAPHILE5_VERSION,
        },
        "servers_started": measured.started,
        "statements": measured.statements,
        "in_process_statements": {
            f"{server}/{document}": len(found_statements)
            for (server, document), found_statements in reference.statements.items()
        },
        "notes": notes,
    }


def _write_results(
    options: Options, stamp: str, record: dict[str, Any], measured: Measured
) -> None:
    results = options.results_dir
    json_path = results / f"{stamp}.json"
    report.write_json(json_path, record, measured.runs, options.not_comparable())
    report.copy_as(json_path, results / "latest.json")
    chart = results / "latest.png"
    base = (options.workers[0], options.concurrency[0])
    drawn = report.write_chart(chart, measured.runs, options.servers, *base)
    print(f"\nWrote {json_path}, {results / 'latest.json'}" + (f", {chart}" if drawn else ""))


if __name__ == "__main__":
    sys.exit(main())
