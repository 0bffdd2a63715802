"""Every server checked against Backlog's in-process answers, then loaded with wrk: the
figures of each run, and the statements each operation sends."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

from bench import baseline, floor, report, servers
from bench.database import DatabaseInfo
from bench.dbwaits import WaitSampler
from bench.load import LoadResult, fill, run_wrk
from bench.options import Options
from bench.procstat import CpuMeter, peak_rss_mb, postgres_pids, process_tree
from bench.workloads import (
    DOCUMENTS,
    WORKLOADS,
    CheckError,
    Operation,
    Targets,
    check_answer,
    check_same_rows,
    checked_operations,
    document_shares,
    writes,
)
from db.session import Database, StatementCounter, create_engine
from server.seed import DEMO_EMAIL

BACKLOG_VARIANTS = ("backlog", "backlog-unlimited", "backlog-plain", "n+1")
STATEMENT_SAMPLES = 20
WRK_TIMEOUT_S = 10.0  # a response slower than this is an error (run_wrk's default)
# A run that completed fewer requests than it has connections is measured again this long.
LONG_RUN_S = 30.0
MAX_RUN_S = 60.0
# Not work a view asks for: transaction control and session chatter. START/END are
# transaction control too; pg_stat_statements' own calls are left out by name.
NOT_COUNTED = {
    "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW", "DISCARD", "RESET",
    "START", "END",
}  # fmt: skip
# asyncpg looks up a type the first time a connection meets it (wrapped in a query that turns
# JIT off and back): once per connection, not per operation, whichever pooled one serves it.
CONNECTION_SETUP = ("typeinfo_tree", "set_config('jit'")
# Numbers for the template bodies (bench/load.py) of requests sent from here, not by wrk.
_SEQUENCE = itertools.count(1)


def _filled(body: bytes) -> bytes:
    """A template body as one request sends it: a write then does new work every time."""
    return fill(body, next(_SEQUENCE))


def _filled_json(payload: dict[str, Any]) -> dict[str, Any]:
    return dict(orjson.loads(_filled(orjson.dumps(payload))))


def operations_by_document(workloads: Iterable[str], targets: Targets) -> dict[str, Operation]:
    """The operation each distinct document of `workloads` is checked with."""
    found: dict[str, Operation] = {}
    for name in workloads:
        for operation in checked_operations(name, targets):
            found.setdefault(operation.document, operation)
    return found


# -- checks before loading ------------------------------------------------------------------


@dataclass
class Reference:
    """Backlog's own answers and SQL, run in this process, that every server is held to."""

    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # by document
    summaries: dict[str, dict[str, int]] = field(default_factory=dict)
    # (server, document) -> the statements one operation sent, as counted by StatementCounter
    statements: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _settings_for(url: str, variant: str) -> Any:
    from server.settings import Settings

    env = servers.SERVERS[variant].env
    return Settings(
        database_url=url,
        backlog_env="development",
        BACKLOG_DEMO_VIEWER=DEMO_EMAIL,
        BACKLOG_DB_POOL_SIZE=servers.DB_POOL_SIZE,
        BACKLOG_LEVEL_EXECUTOR=env["BACKLOG_LEVEL_EXECUTOR"],
        BACKLOG_LOADERS_ENABLED=env["BACKLOG_LOADERS_ENABLED"],
        BACKLOG_RATE_LIMIT=env["BACKLOG_RATE_LIMIT"],
    )


async def in_process_reference(
    url: str, options: Options, targets: Targets, notes: list[str]
) -> Reference:
    """Each Backlog variant (through its ASGI app) and the floor, once per document the chosen
    workloads send, counting statements with StatementCounter: the floor must send what Backlog
    sends. What the writes wrote is undone before returning."""
    import httpx

    from server.app import create_app

    reference = Reference()
    engine = create_engine(url, pool_size=2)
    counter = StatementCounter()
    counter.attach(engine.sync_engine)
    database = Database(engine)
    variants = [v for v in BACKLOG_VARIANTS if v == "backlog" or v in options.servers]
    try:
        for variant in variants:
            documents = operations_by_document(options.workloads_for(variant), targets)
            app = create_app(_settings_for(url, variant), database=database)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for name, operation in documents.items():
                    body: dict[str, Any] = {}
                    # Twice, counting the second: a first connection's set-up is not the view.
                    for _ in range(2):
                        counter.statements.clear()
                        response = await client.post(
                            "/graphql", json=_filled_json(operation.backlog)
                        )
                        body = response.json()
                    reference.statements[(variant, name)] = list(counter.statements)
                    check_answer(f"{variant} (in process)", name, response.status_code, body)
                    if variant == "backlog":
                        reference.bodies[name] = body
                        reference.summaries[name] = DOCUMENTS[name].summarize_backlog(body)
                    else:
                        _compare(variant, name, body, reference, notes)
        if "floor" in options.servers:
            for name, operation in operations_by_document(
                options.workloads_for("floor"), targets
            ).items():
                assert operation.floor is not None
                for _ in range(2):
                    counter.statements.clear()
                    handle = database.request_handle()
                    try:
                        body = await floor.respond(
                            handle, DEMO_EMAIL, name, operation.floor["variables"]
                        )
                    finally:
                        await handle.close()
                reference.statements[("floor", name)] = list(counter.statements)
                check_answer("floor (in process)", name, 200, body)
                _compare("floor", name, body, reference, notes)
                _same_sql(name, reference)
    finally:
        counter.detach(engine.sync_engine)
        try:
            await baseline.restore(engine)
        finally:
            await engine.dispose()
    return reference


def _compare(
    who: str, document: str, body: dict[str, Any], reference: Reference, notes: list[str]
) -> None:
    """Same rows as Backlog's answer (or stop); for a read, the very same JSON (or a note),
    but for `extensions`: what is left of a budget differs from one request to the next."""
    summary = DOCUMENTS[document].summarize_backlog(body)
    check_same_rows(who, document, summary, reference.summaries[document])
    if not DOCUMENTS[document].writes and _without_extensions(body) != _without_extensions(
        reference.bodies[document]
    ):
        notes.append(f"{who}: {document} has Backlog's rows but not byte-identical JSON")


def _without_extensions(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "extensions"}


def _same_sql(document: str, reference: Reference) -> None:
    backlog = reference.statements[("backlog", document)]
    ours = reference.statements[("floor", document)]
    if len(ours) != len(backlog):
        raise CheckError(
            f"the floor sends {len(ours)} statements for {document}, Backlog {len(backlog)}"
        )
    if sorted(ours) != sorted(backlog):
        raise CheckError(f"the floor's SQL for {document} differs from Backlog's")


def check_server(
    server: servers.RunningServer,
    workloads: Sequence[str],
    targets: Targets,
    reference: Reference,
    notes: list[str],
    db: DatabaseInfo,
) -> None:
    """One request per document of `workloads` over HTTP, held to the in-process reference;
    what the writes wrote is undone."""
    documents = operations_by_document(workloads, targets)
    try:
        for name, operation in documents.items():
            url, payload = server.request_for(operation)
            status, raw = servers.post(url, _filled(orjson.dumps(payload)))
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = raw.decode(errors="replace")
            check_answer(server.name, name, status, body)
            if server.spec.app is not None:
                _compare(server.name, name, body, reference, notes)
                continue
            summarize = DOCUMENTS[name].summarize_peer(server.name)
            assert summarize is not None
            summary = summarize(body)
            if summary != reference.summaries[name]:
                notes.append(
                    f"{server.name}: {name} rows differ from Backlog's: "
                    f"{summary} != {reference.summaries[name]}"
                )
    finally:
        if any(DOCUMENTS[name].writes for name in documents):
            baseline.restore_database(db.url)


# -- measuring ------------------------------------------------------------------------------


def _bodies(
    server: servers.RunningServer, workload: str, targets: Targets
) -> tuple[str, list[tuple[float, bytes]]]:
    """wrk's URL and weighted bodies (templates, see bench/load.py) for this server."""
    urls, bodies = set(), []
    for weight, operation in WORKLOADS[workload].operations(targets):
        url, payload = server.request_for(operation)
        urls.add(url)
        bodies.append((weight, orjson.dumps(payload)))
    if len(urls) != 1:
        raise CheckError(f"{workload}: wrk loads one URL, {server.name} needs {sorted(urls)}")
    return urls.pop(), bodies


def measure(
    server: servers.RunningServer,
    workload: str,
    url: str,
    bodies: Any,
    concurrency: int,
    options: Options,
    db: DatabaseInfo,
    notes: list[str],
    *,
    writing: bool = False,
) -> report.Run:
    """A warm-up run, then the measured one; each followed by waiting for the server to finish
    the requests wrk left in flight, so no run pays for another's. A `writing` workload's runs
    each start from the baseline (bench/baseline.py), and their lock waits are sampled."""
    pgdata = db.pgdata
    what = f"{server.name} w{server.workers} {workload} c{concurrency}"
    if options.warmup_s > 0:
        run_wrk(url, bodies, concurrency=concurrency, duration_s=options.warmup_s)
        _settle(server, pgdata, f"{what} (after warm-up)", notes)
        if writing:
            baseline.restore_database(db.url)
    window = _window(server, url, bodies, concurrency, options.duration_s, db, writing)
    _settle(server, pgdata, what, notes)
    written = baseline.restore_database(db.url) if writing else None
    longer = min(max(4 * options.duration_s, LONG_RUN_S), MAX_RUN_S)
    if window.result.requests < concurrency and longer > options.duration_s:
        # Fewer answers than connections: a server this slow (the N+1 baseline) interleaves
        # all its requests and finishes them together, after the window closed. Measure it
        # over a window long enough to see it work, with the timeout no shorter than that.
        notes.append(
            f"{what}: {window.result.requests} requests completed in {options.duration_s:g} s, "
            f"fewer than its {concurrency} connections; measured again over {longer:g} s"
        )
        window = _window(server, url, bodies, concurrency, longer, db, writing)
        _settle(server, pgdata, what, notes)
        written = baseline.restore_database(db.url) if writing else None
    result = window.result
    if result.requests == 0:
        notes.append(f"{what}: no request completed, its figures are void")
    rss = peak_rss_mb(process_tree(server.pid))
    requests = max(result.requests, 1)
    return report.Run(
        server=server.name,
        workload=workload,
        workers=server.workers,
        concurrency=concurrency,
        duration_s=round(result.duration_s, 3),
        requests=result.requests,
        requests_per_s=result.requests_per_s,
        p50_ms=result.latency_p50_ms,
        p95_ms=result.latency_p95_ms,
        p99_ms=result.latency_p99_ms,
        errors=result.total_errors,
        error_detail={
            "connect": result.connect_errors,
            "read": result.read_errors,
            "write": result.write_errors,
            "timeout": result.timeout_errors,
            "non_2xx": result.non_2xx,
            "graphql_errors": result.graphql_errors,
        },
        server_cpu_ms_per_request=1000 * window.server_s / requests,
        db_cpu_ms_per_request=None if window.db_s is None else 1000 * window.db_s / requests,
        peak_rss_mb=rss,
        # Rows written by the window's requests (and by the few still in flight at its end).
        written=None if written is None else asdict(written),
        db_waits=window.waits,
    )


@dataclass(frozen=True)
class _Window:
    result: LoadResult
    server_s: float  # CPU seconds of the server's processes during the run
    db_s: float | None  # ... and of PostgreSQL's, when visible
    waits: dict[str, Any] | None  # bench/dbwaits.py's means, for a writing workload


def _window(
    server: servers.RunningServer,
    url: str,
    bodies: Any,
    concurrency: int,
    duration_s: float,
    db: DatabaseInfo,
    writing: bool,
) -> _Window:
    """One wrk run; the CPU seconds the server and the database spent during it."""
    pgdata = db.pgdata
    server_cpu, db_cpu = CpuMeter(), CpuMeter()
    sampler = WaitSampler(db.url) if writing else None
    if sampler is not None:
        sampler.start()
    server_cpu.start(lambda: [server.pid])
    if pgdata is not None:
        db_cpu.start(lambda: postgres_pids(pgdata))
    result = run_wrk(
        url,
        bodies,
        concurrency=concurrency,
        duration_s=duration_s,
        timeout_s=max(WRK_TIMEOUT_S, duration_s),
    )
    # CPU over wrk's window only, per completed request: the window also holds part of the
    # work on the (at most `concurrency`) requests still in flight at its end, a small bias up.
    server_s = server_cpu.stop()
    db_s = db_cpu.stop() if pgdata is not None else None
    waits = sampler.stop() if sampler is not None else None
    return _Window(result, server_s, db_s, waits)


def _settle(
    server: servers.RunningServer, pgdata: Path | None, what: str, notes: list[str]
) -> None:
    waited = servers.wait_until_idle(
        lambda: [server.pid, *(postgres_pids(pgdata) if pgdata is not None else ())]
    )
    if waited is None:
        notes.append(f"{what}: still busy {servers.IDLE_TIMEOUT_S:.0f} s after wrk stopped")


async def _pg_statements(url: str, send: Callable[[], None]) -> list[tuple[str, int]]:
    """(query, calls) that pg_stat_statements saw while `send` ran, in this database."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            # Connected (and its set-up queries done) before the reset, so they are not counted.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("SELECT pg_stat_statements_reset()"))
            await asyncio.to_thread(send)
            rows = await connection.execute(
                text(
                    "SELECT query, calls FROM pg_stat_statements WHERE dbid = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "ORDER BY calls DESC"
                )
            )
            return [(str(query), int(calls)) for query, calls in rows]
    finally:
        await engine.dispose()


def _counted(query: str) -> bool:
    words = query.lstrip().split(None, 1)
    first = words[0].rstrip(";").upper() if words else ""
    if first in NOT_COUNTED or "pg_stat_statements" in query:
        return False
    return not any(marker in query for marker in CONNECTION_SETUP)


def count_statements(
    server: servers.RunningServer,
    document: str,
    url: str,
    bodies: Sequence[bytes],
    db: DatabaseInfo,
    reference: Reference,
) -> tuple[float | None, list[tuple[str, int]]]:
    """Statements per operation of one document: pg_stat_statements over 20 sequential
    requests (cycling through its bodies), else Backlog's and the floor's in-process count, else
    unknown. Also every (query, calls) seen."""
    if not db.pg_stat_statements:
        counted = reference.statements.get((server.name, document))
        return (None if counted is None else float(len(counted))), []

    def send() -> None:
        for i in range(STATEMENT_SAMPLES):
            status, answer = servers.post(url, _filled(bodies[i % len(bodies)]))
            if status != 200:
                raise CheckError(f"{server.name} answered HTTP {status}: {answer[:500]!r}")

    seen = asyncio.run(_pg_statements(db.url, send))
    counted = sum(calls for query, calls in seen if _counted(query))
    return counted / STATEMENT_SAMPLES, seen


@dataclass
class Measured:
    runs: list[report.Run] = field(default_factory=list)
    started: list[dict[str, Any]] = field(default_factory=list)  # the servers' command lines
    statements: list[dict[str, Any]] = field(default_factory=list)


def _count_documents(
    server: servers.RunningServer,
    workloads: Sequence[str],
    targets: Targets,
    db: DatabaseInfo,
    reference: Reference,
    measured: Measured,
) -> dict[str, float | None]:
    """Statements per operation of each document the server's workloads send, counted once
    each (board alone and board within mixed are the same operation)."""
    bodies: dict[str, tuple[str, list[bytes]]] = {}  # document -> URL, bodies
    for workload in workloads:
        for _, operation in WORKLOADS[workload].operations(targets):
            url, payload = server.request_for(operation)
            found = bodies.setdefault(operation.document, (url, []))[1]
            body = orjson.dumps(payload)
            if body not in found:
                found.append(body)
    per_document: dict[str, float | None] = {}
    try:
        for document, (url, document_bodies) in bodies.items():
            per_op, seen = count_statements(server, document, url, document_bodies, db, reference)
            per_document[document] = per_op
            measured.statements.append(
                {
                    "server": server.name,
                    "workers": server.workers,
                    "document": document,
                    "bodies": len(document_bodies),
                    "per_operation": per_op,
                    "source": "pg_stat_statements"
                    if db.pg_stat_statements
                    else "in-process"
                    if per_op is not None
                    else None,
                    "queries": [
                        {"calls": c, "counted": _counted(q), "query": q[:400]} for q, c in seen[:40]
                    ],
                }
            )
    finally:
        if any(DOCUMENTS[document].writes for document in bodies):
            baseline.restore_database(db.url)
    return per_document


def _per_operation(
    workload: str, targets: Targets, per_document: dict[str, float | None]
) -> float | None:
    """A workload's statements per operation: its documents' counts, weighted by their share."""
    shares = document_shares(workload, targets)
    counts = [per_document.get(document) for document in shares]
    if any(count is None for count in counts):
        return None
    return sum(share * (count or 0.0) for share, count in zip(shares.values(), counts, strict=True))


def run_matrix(
    options: Options,
    db: DatabaseInfo,
    reference: Reference,
    installed: Mapping[str, Path],
    notes: list[str],
) -> Measured:
    assert db.targets is not None
    targets = db.targets
    measured = Measured()
    log_dir = options.data_dir / "logs"
    for name, workers, concurrencies in options.plan():
        spec = servers.SERVERS[name]
        workloads = options.workloads_for(name)
        print(f"\n== {name}, workers={workers}", flush=True)
        server = servers.start(
            spec,
            database_url=db.url,
            workers=workers,
            log_dir=log_dir,
            installed=installed,
        )
        try:
            print("   " + " ".join(server.command), flush=True)
            measured.started.append({"server": name, "workers": workers, "command": server.command})
            check_server(server, workloads, targets, reference, notes, db)
            for workload in workloads:
                url, bodies = _bodies(server, workload, targets)
                writing = writes(workload, targets)
                for concurrency in concurrencies:
                    run = measure(
                        server,
                        workload,
                        url,
                        bodies,
                        concurrency,
                        options,
                        db,
                        notes,
                        writing=writing,
                    )
                    measured.runs.append(run)
                    flag = f"  {run.errors} ERRORS" if run.errors else ""
                    print(
                        f"   {workload:<11} c={concurrency:<3} {run.requests_per_s:9,.1f} req/s"
                        f"  p99 {run.p99_ms:8.2f} ms{flag}",
                        flush=True,
                    )
            # After the load, with the pool warm (asyncpg's per-connection type look-ups are
            # left out of the count in any case).
            per_document = _count_documents(server, workloads, targets, db, reference, measured)
            for run in measured.runs:
                if (run.server, run.workers) == (name, workers):
                    run.statements_per_operation = _per_operation(
                        run.workload, targets, per_document
                    )
        finally:
            server.stop()
    return measured


def compare_statement_sources(measured: Measured, reference: Reference, notes: list[str]) -> None:
    """pg_stat_statements and StatementCounter must agree where both counted the same body
    (issueUpdate's bodies differ: one that changes the state also checks it)."""
    for entry in measured.statements:
        counted = reference.statements.get((entry["server"], entry["document"]))
        per_op = entry["per_operation"]
        if (
            entry["source"] == "pg_stat_statements"
            and entry["bodies"] == 1
            and counted is not None
            and per_op is not None
            and abs(per_op - len(counted)) > 1e-9
        ):
            notes.append(
                f"{entry['server']} w{entry['workers']} {entry['document']}: "
                f"pg_stat_statements saw {per_op:g} statements/op, in-process {len(counted)}"
            )
