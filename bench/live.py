"""`python -m bench live`: subscriptions over WebSockets, delivered while writes go through the API.

For each `--subscribers` N: two `backlog` processes (uvicorn, one worker each, as deployed, on
one database) and N subscribers, spread evenly over both, all subscribed to acme's board
(`issueChanged(workspaceId:)` with the card's id, title, state, assignee and what changed).
A writer sends `issueUpdate` through HTTP at a fixed rate (`--rate`, open loop, alternating
between the processes), each write giving one of 100 acme issues a title that ends with its
sequence number (`#live-<seq>`), so every delivery is matched to its write.

Phases, per N:
1. warm-up: one subscriber per process receives one write (both processes have their
   workspace reader, the document parsed and validated);
2. writes alone for `WRITES_ALONE_S`: the servers' CPU per write without subscribers;
3. the N connections open (client processes, `--clients` of them, bench/live_client.py): the
   servers' resident memory before and after is the memory per connection; one sentinel write
   proves every subscriber live;
4. writes for `--seconds` at `--rate`, then a drain until every subscriber has the last one.

Delivery latency is measured per delivery against the write's HTTP exchange. The commit falls
between the mutation's send and its response, so `recv - response` ("from commit" in the
report) bounds the latency from below (it may even be negative: the event can overtake the
HTTP response) and `recv - send` from above. The clients share the machine with the servers
(their CPU is reported, as is what the rest of the machine used). Every connection is the demo
user's (development mode), so the per-user connection cap is lifted for the run. Correctness: every
subscriber must receive every committed write exactly once and in stream order (cursors
increasing), and all subscribers must see the same cursor for a write.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from bench import baseline, report, servers
from bench.database import DatabaseInfo, open_database
from bench.live_client import SUBPROTOCOL, TITLE_MARK, ClientPlan, Received
from bench.live_client import run as run_client
from bench.options import (
    WriteBenchOptions,
    parse_write_bench,
    stopped_early,
    write_bench_parser,
)
from bench.procstat import CpuMeter, cpu_seconds, postgres_pids, process_tree, rss_mb
from bench.report import busy_between, machine_ticks
from bench.workloads import MAX_TITLE, WORKSPACE_SLUG, Targets
from core.ids import to_global_id
from schema.changes import stream_position

SERVER_PROCESSES = 2
WRITES_ALONE_S = 5.0
DRAIN_S = 15.0
OPEN_TIMEOUT_S = 180.0
SAMPLE_S = 1.0
BUSY_OTHERS = 0.25  # cores of the machine used by none of the measured processes
TARGET_SUBSCRIBERS = 1000
TARGET_RATE = 20.0
TARGET_P99_MS = 250.0

BOARD = """\
subscription Board($workspaceId: ID!) {
  issueChanged(workspaceId: $workspaceId) {
    cursor
    action
    issue { id title state { name } assignee { name } }
    changes { field toValue }
  }
}
"""
UPDATE = """\
mutation LiveWrite($input: IssueUpdateInput!) {
  issueUpdate(input: $input) { issue { id } errors { code message } }
}
"""
WORKSPACE = "query($slug: String!) { workspace(slug: $slug) { id } }"


@dataclass(frozen=True)
class LiveOptions(WriteBenchOptions):
    subscribers: tuple[int, ...]
    clients: int
    compression: bool


def parse_options(argv: Sequence[str] | None) -> LiveOptions:
    parser = write_bench_parser(
        "python -m bench live",
        __doc__,
        seconds_help="seconds of writes per N",
        rate=20.0,
    )
    parser.add_argument(
        "--subscribers", default="100,1000", help="comma-separated N (default: %(default)s)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=4,
        help="subscriber processes, each holding N/clients connections (default: 4)",
    )
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="do not offer permessage-deflate (browsers offer it, so by default the clients do)",
    )
    args, fields = parse_write_bench(parser, argv)
    try:
        subscribers = tuple(int(part) for part in args.subscribers.split(",") if part.strip())
    except ValueError:
        parser.error("--subscribers takes comma-separated integers")
    if not subscribers or min(subscribers) < 1:
        parser.error("--subscribers needs positive integers")
    if args.clients < 1:
        parser.error("--clients must be positive")
    return LiveOptions(
        **fields,
        subscribers=subscribers,
        clients=args.clients,
        compression=not args.no_compression,
    )


@dataclass
class DeliveryLatency:
    """Latency per delivery of a write, in ms: from the write's HTTP response (the commit is
    done: a lower bound of commit-to-delivery) and from its send (an upper bound)."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    p50_from_send_ms: float
    p99_from_send_ms: float


def delivery_latency(from_commit: list[float], from_send: list[float]) -> dict[str, Any]:
    """DeliveryLatency's fields, as keyword arguments, of the deliveries' lags in seconds
    (sorted) from the writes' responses and from their sends."""
    return {
        "p50_ms": report.percentile(from_commit, 0.50) * 1000,
        "p99_ms": report.percentile(from_commit, 0.99) * 1000,
        "max_ms": (from_commit[-1] if from_commit else float("nan")) * 1000,
        "p50_from_send_ms": report.percentile(from_send, 0.50) * 1000,
        "p99_from_send_ms": report.percentile(from_send, 0.99) * 1000,
    }


@dataclass
class LiveRun(DeliveryLatency):
    """The figures of one N; its latency is the subscribers' (DeliveryLatency)."""

    subscribers: int
    connected: int
    seconds: float
    rate: float
    writes: int  # committed (HTTP 200, no errors) during the measured phase
    write_failures: int
    write_p99_ms: float
    deliveries: int  # of those writes, summed over subscribers
    deliveries_per_s: float
    phase_s: float  # the writes and the drain after them: what the CPU figures cover
    machine_busy_cpus: float  # the whole machine over the phase, other processes included
    busiest_server_s: list[float]  # per server process, its busiest second (1.0: one core)
    server_cpu_s: float
    server_cpu_ms_per_delivery: float
    write_cpu_ms_alone: float  # server CPU per write with no subscriber (phase 2)
    delivery_cpu_ms: float  # server CPU per delivery, the writes' own cost taken out
    db_cpu_s: float | None
    client_cpu_s: float
    rss_before_mb: list[float]
    rss_after_mb: list[float]
    rss_end_mb: list[float]
    kib_per_connection: float
    missing: int
    duplicated: int
    out_of_order: int
    unexpected: int  # deliveries of no committed write of the phase
    cursor_disagreements: int  # writes whose cursor differed between subscribers
    failed_subscribers: int
    first_subscriber_error: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def others_cpus(self) -> float:
        """Cores the machine spent on neither the servers, PostgreSQL nor the clients (the
        bench process itself, and whatever else runs here)."""
        ours = self.server_cpu_s + (self.db_cpu_s or 0.0) + self.client_cpu_s
        return max(self.machine_busy_cpus - ours / self.phase_s, 0.0)

    @property
    def correct(self) -> bool:
        """Every subscriber connected and stayed, and received each committed write once, in
        stream order and with the cursor the others saw, and nothing else."""
        everyone_stayed = self.connected >= self.subscribers and not self.failed_subscribers
        faults = (self.missing, self.duplicated, self.out_of_order, self.unexpected)
        return everyone_stayed and not any(faults) and not self.cursor_disagreements


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    notes: list[str] = []
    busy = report.busy_cpus()
    if busy > 0.25:
        notes.append(
            f"other processes kept {busy:.2f} of the {os.cpu_count()} CPUs busy when the bench "
            "started: figures are noisier"
        )
    bench_options = options.bench_options()
    notes.append(
        "the subscriber clients share this machine with the servers; every connection is the "
        "demo user's (BACKLOG_WS_MAX_CONNECTIONS_PER_USER and _SUBSCRIPTIONS_PER_USER raised to "
        "N + 10 for the run)"
    )
    runs: list[LiveRun] = []
    began = time.monotonic()
    try:
        with open_database(bench_options, notes) as db:
            for count in options.subscribers:
                run = run_one(options, db, count)
                runs.append(run)
                if run.others_cpus > BUSY_OTHERS:
                    notes.append(
                        f"with {count} subscribers, other processes (the bench's own included) "
                        f"kept {run.others_cpus:.2f} CPUs busy during the writes: figures of a "
                        "shared machine"
                    )
    except (servers.ServerError, KeyboardInterrupt) as error:
        return stopped_early("bench live", error)
    print_report(options, runs, notes)
    path = write_json(options, runs, notes, time.monotonic() - began)
    print(f"\nWrote {path}")
    print(f"Took {(time.monotonic() - began) / 60:.1f} min.")
    # As in the rest of the bench: a missed target is a finding; a failed request or a wrong
    # delivery fails the run.
    return 0 if all(run.correct and not run.write_failures for run in runs) else 1


def run_one(options: LiveOptions, db: DatabaseInfo, count: int) -> LiveRun:
    # One user holds every connection (development mode's demo user), so the per-user cap is
    # lifted; the rate limit gets a budget never spent, as in the rest of the bench.
    spec = servers.ServerSpec(
        "backlog",
        servers.SERVERS["backlog"].help,
        servers.BACKLOG_APP,
        {
            **servers.SERVERS["backlog"].env,
            # Every subscriber is the demo user's: its per-user caps must not refuse them.
            "BACKLOG_WS_MAX_CONNECTIONS_PER_USER": str(count + 10),
            "BACKLOG_WS_MAX_SUBSCRIPTIONS_PER_USER": str(count + 10),
        },
    )
    started: list[servers.RunningServer] = []
    print(f"\nlive: {count} subscribers over {SERVER_PROCESSES} processes", flush=True)
    try:
        for _ in range(SERVER_PROCESSES):
            started.append(
                servers.start(
                    spec,
                    database_url=db.url,
                    workers=1,
                    log_dir=options.data_dir / "logs",
                )
            )
        return asyncio.run(_measure(options, db, count, started))
    finally:
        for server in started:
            server.stop()
        baseline.restore_database(db.url)


class Writer:
    """issueUpdate at a fixed rate (open loop), each write's send and response times by seq."""

    def __init__(self, http: httpx.AsyncClient, urls: list[str], targets: Targets) -> None:
        self.http = http
        self.urls = urls
        self.issues = targets.updated_issues
        self.seq = 0
        self.sent: dict[int, float] = {}
        self.done: dict[int, float] = {}
        self.failures: list[str] = []

    async def write(self) -> int:
        self.seq += 1
        seq = self.seq
        pk, title = self.issues[seq % len(self.issues)]
        body = {
            "query": UPDATE,
            "variables": {
                "input": {
                    "id": to_global_id("Issue", pk),
                    "title": f"{title[: MAX_TITLE - 20]} {TITLE_MARK}{seq}",
                }
            },
        }
        url = self.urls[seq % len(self.urls)]
        self.sent[seq] = time.monotonic()
        try:
            response = await self.http.post(url, content=orjson.dumps(body), headers=_JSON)
        except httpx.HTTPError as error:
            self.failures.append(repr(error))
            return seq
        now = time.monotonic()
        answer = orjson.loads(response.content) if response.status_code == 200 else {}
        payload = (answer.get("data") or {}).get("issueUpdate") or {}
        if answer.get("errors") or payload.get("errors") or not payload.get("issue"):
            self.failures.append(f"HTTP {response.status_code}: {response.content[:300]!r}")
        else:
            self.done[seq] = now
        return seq

    async def run(self, rate: float, seconds: float) -> tuple[int, int]:
        """The first and last seq written."""
        began = time.monotonic()
        tasks = []
        for number in range(int(seconds * rate)):
            delay = began + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.write()))
        seqs = await asyncio.gather(*tasks)
        return seqs[0], seqs[-1]


_JSON = {"content-type": "application/json", "accept": "application/json"}


class _Sampler:
    """Each server process's CPU, one-second windows: a process at one core is the bottleneck
    (uvicorn with one worker runs one event loop on one thread), however idle the machine."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.busiest: list[float] = [0.0] * len(pids)
        self.task: asyncio.Task[None] | None = None
        self.began = (0.0, machine_ticks())

    def start(self) -> None:
        self.began = (time.monotonic(), machine_ticks())
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        last = [cpu_seconds([pid]) for pid in self.pids]
        at = time.monotonic()
        while True:
            await asyncio.sleep(SAMPLE_S)
            now = time.monotonic()
            spent = [cpu_seconds([pid]) for pid in self.pids]
            for number, (before, after) in enumerate(zip(last, spent, strict=True)):
                self.busiest[number] = max(self.busiest[number], (after - before) / (now - at))
            last, at = spent, now

    def stop(self) -> tuple[float, float]:
        """The phase's length in seconds and the machine's busy CPUs over it."""
        if self.task is not None:
            self.task.cancel()
        began, ticks = self.began
        return time.monotonic() - began, busy_between(ticks, machine_ticks())


async def _measure(
    options: LiveOptions, db: DatabaseInfo, count: int, started: list[servers.RunningServer]
) -> LiveRun:
    assert db.targets is not None
    graphql = [server.url("/graphql") for server in started]
    sockets = [url.replace("http://", "ws://", 1) for url in graphql]

    def server_pids() -> list[int]:
        return [server.pid for server in started]

    async with httpx.AsyncClient(timeout=60.0) as http:
        answer = await http.post(
            graphql[0],
            content=orjson.dumps({"query": WORKSPACE, "variables": {"slug": WORKSPACE_SLUG}}),
            headers=_JSON,
        )
        workspace_id = orjson.loads(answer.content)["data"]["workspace"]["id"]
        subscribe = {"query": BOARD, "variables": {"workspaceId": workspace_id}}
        writer = Writer(http, graphql, db.targets)

        print("   warm-up: one subscriber per process, one write", flush=True)
        await _warm_up(sockets, subscribe, writer, options.compression)

        print(f"   writes alone: {WRITES_ALONE_S:g} s at {options.rate:g}/s", flush=True)
        meter = CpuMeter()
        meter.start(server_pids)
        first, last = await writer.run(options.rate, WRITES_ALONE_S)
        alone_cpu = meter.stop()
        alone_writes = sum(1 for seq in range(first, last + 1) if seq in writer.done)
        write_cpu_ms_alone = alone_cpu * 1000 / max(alone_writes, 1)

        rss_before = [rss_mb(process_tree(pid)) for pid in server_pids()]
        print(f"   opening {count} connections from {options.clients} processes", flush=True)
        clients = _Clients(options, sockets, subscribe, count)
        try:
            connected, first_error = await clients.open()
            if connected < count:
                print(f"   only {connected} connected; first error: {first_error}", flush=True)
            sentinel = await writer.write()
            await clients.all_reply(("sentinel", sentinel), "ready", within_s=90.0)
            rss_after = [rss_mb(process_tree(pid)) for pid in server_pids()]

            print(f"   writes: {options.seconds:g} s at {options.rate:g}/s", flush=True)
            meters = {name: CpuMeter() for name in ("server", "db", "clients")}
            meters["server"].start(server_pids)
            meters["db"].start(lambda: postgres_pids(db.pgdata) if db.pgdata else [])
            meters["clients"].start(clients.pids)
            sampler = _Sampler(server_pids())
            sampler.start()
            began = time.monotonic()
            first, last = await writer.run(options.rate, options.seconds)
            replies = await clients.all_reply(
                ("drain", last, DRAIN_S), "done", within_s=DRAIN_S + 60.0
            )
            cpu = {name: meter.stop() for name, meter in meters.items()}
            phase_s, machine_busy = sampler.stop()
            rss_end = [rss_mb(process_tree(pid)) for pid in server_pids()]
        finally:
            clients.stop()
    received = [r for reply in replies for r in reply[1]]
    return analyse(
        options=options,
        count=count,
        received=received,
        sent=writer.sent,
        done=writer.done,
        live=range(first, last + 1),
        began=began,
        cpu=cpu,
        db_visible=db.pgdata is not None,
        write_cpu_ms_alone=write_cpu_ms_alone,
        rss=(rss_before, rss_after, rss_end),
        connected=connected,
        phase=(phase_s, machine_busy, sampler.busiest),
    )


async def _warm_up(
    sockets: list[str], subscribe: dict[str, Any], writer: Writer, compression: bool
) -> None:
    opened = []
    for url in sockets:
        ws = await connect(
            url,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            compression="deflate" if compression else None,
        )
        await ws.send('{"type":"connection_init","payload":{}}')
        await ws.recv()
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": subscribe}).decode())
        opened.append(ws)
    await asyncio.sleep(0.5)  # the subscription has no acknowledgement: let it join
    seq = await writer.write()
    for ws in opened:
        while True:
            message = str(await asyncio.wait_for(ws.recv(), 30.0))
            if f"{TITLE_MARK}{seq}" in message:
                break
        await ws.close()


class _Clients:
    """The subscriber processes and their pipes."""

    def __init__(
        self, options: LiveOptions, sockets: list[str], subscribe: dict[str, Any], count: int
    ) -> None:
        context = multiprocessing.get_context("spawn")
        processes = min(options.clients, count)
        self.pipes: list[Connection] = []
        self.processes = []
        for number in range(processes):
            ours, theirs = context.Pipe()
            plan = ClientPlan(
                urls=tuple(sockets),
                indices=tuple(range(number, count, processes)),
                subscribe=subscribe,
                compression=options.compression,
            )
            process = context.Process(target=run_client, args=(theirs, plan), daemon=True)
            self.pipes.append(ours)
            self.processes.append(process)

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes if process.pid is not None]

    async def open(self) -> tuple[int, str | None]:
        for process in self.processes:
            process.start()
        replies = await self._replies("opened", OPEN_TIMEOUT_S)
        errors = [reply[2] for reply in replies if reply[2]]
        return sum(reply[1] for reply in replies), errors[0] if errors else None

    async def all_reply(self, command: tuple[Any, ...], kind: str, within_s: float) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return await self._replies(kind, within_s)

    async def _replies(self, kind: str, within_s: float) -> list[Any]:
        async def one(pipe: Connection) -> Any:
            if not await asyncio.to_thread(pipe.poll, within_s):
                raise servers.ServerError(f"a subscriber process sent no {kind!r} in {within_s} s")
            reply = pipe.recv()
            if reply[0] != kind:
                raise servers.ServerError(f"a subscriber process answered {reply!r}")
            return reply

        return list(await asyncio.gather(*(one(pipe) for pipe in self.pipes)))

    def stop(self) -> None:
        for process in self.processes:
            if process.pid is None:
                continue
            process.join(10.0)
            if process.is_alive():
                process.terminate()
                process.join()


def analyse(
    *,
    options: LiveOptions,
    count: int,
    received: list[Received],
    sent: dict[int, float],
    done: dict[int, float],
    live: range,
    began: float,
    cpu: dict[str, float],
    db_visible: bool,
    write_cpu_ms_alone: float,
    rss: tuple[list[float], list[float], list[float]],
    connected: int,
    phase: tuple[float, float, list[float]],
) -> LiveRun:
    """The figures of one N from what every subscriber received, against the writes' send and
    response times (`done` holds the committed writes only)."""
    expected = {seq for seq in live if seq in done}
    entry_ids: dict[str, int] = {}
    cursor_of: dict[int, set[int]] = {}
    from_commit: list[float] = []
    from_send: list[float] = []
    missing = duplicated = out_of_order = unexpected = 0
    last_time = began
    for r in received:
        seen: set[int] = set()
        previous = -1
        for seq, cursor, at in zip(r.seqs, r.cursors, r.times, strict=True):
            if seq < live.start:
                continue  # the sentinel, or a write before it
            entry = entry_ids.get(cursor)
            if entry is None:
                entry = entry_ids[cursor] = stream_position(cursor, "cursor")[1]
            if seq in seen:
                duplicated += 1
                continue
            seen.add(seq)
            if seq not in expected:
                unexpected += 1
                continue
            if entry <= previous:
                out_of_order += 1
            previous = max(previous, entry)
            cursor_of.setdefault(seq, set()).add(entry)
            from_commit.append(at - done[seq])
            from_send.append(at - sent[seq])
            last_time = max(last_time, at)
        if r.error is None:
            missing += len(expected - seen)
    failed = [r for r in received if r.error is not None]
    from_commit.sort()
    from_send.sort()
    deliveries = len(from_commit)
    writes = len(expected)
    durations = sorted(done[seq] - sent[seq] for seq in expected)
    delivery_cpu = cpu["server"] - writes * write_cpu_ms_alone / 1000
    rss_before, rss_after, rss_end = rss
    phase_s, machine_busy, busiest = phase
    return LiveRun(
        subscribers=count,
        connected=connected,
        seconds=options.seconds,
        rate=options.rate,
        writes=writes,
        write_failures=sum(1 for seq in live if seq not in done),
        write_p99_ms=report.percentile(durations, 0.99) * 1000,
        deliveries=deliveries,
        deliveries_per_s=deliveries / max(last_time - began, 1e-9),
        **delivery_latency(from_commit, from_send),
        phase_s=phase_s,
        machine_busy_cpus=machine_busy,
        busiest_server_s=busiest,
        server_cpu_s=cpu["server"],
        server_cpu_ms_per_delivery=cpu["server"] * 1000 / max(deliveries, 1),
        write_cpu_ms_alone=write_cpu_ms_alone,
        delivery_cpu_ms=delivery_cpu * 1000 / max(deliveries, 1),
        db_cpu_s=cpu["db"] if db_visible else None,
        client_cpu_s=cpu["clients"],
        rss_before_mb=rss_before,
        rss_after_mb=rss_after,
        rss_end_mb=rss_end,
        kib_per_connection=(sum(rss_after) - sum(rss_before)) * 1024 / max(connected, 1),
        missing=missing,
        duplicated=duplicated,
        out_of_order=out_of_order,
        unexpected=unexpected,
        cursor_disagreements=sum(1 for entries in cursor_of.values() if len(entries) > 1),
        failed_subscribers=len(failed),
        first_subscriber_error=failed[0].error if failed else None,
    )


# -- report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A table of the report, after the paragraph that says what it shows; each column's header
    beside what its cell shows of a run (as str() writes it)."""

    explained: str
    columns: tuple[tuple[str, Callable[[LiveRun], object]], ...]
    right_from: int = 0  # the first column aligned right

    def render(self, runs: Sequence[LiveRun]) -> str:
        headers = [header for header, _ in self.columns]
        rows = [tuple(str(cell(run)) for _, cell in self.columns) for run in runs]
        table = report._table(headers, rows, right_from=self.right_from)
        return f"{_filled(self.explained)}\n{table}"


_fmt = report._fmt
_SUBSCRIBERS: tuple[str, Callable[[LiveRun], object]] = (
    "subscribers",
    lambda r: f"{r.subscribers:,}",
)

_LATENCY = _Table(
    "Latency per delivery: from the write's HTTP response (commit done: a lower bound) and "
    "from its send (an upper bound).",
    (
        _SUBSCRIBERS,
        ("connected", lambda r: f"{r.connected:,}"),
        (
            "writes",
            lambda r: (
                f"{r.writes:,}" + (f" ({r.write_failures} failed !!)" if r.write_failures else "")
            ),
        ),
        ("deliveries", lambda r: f"{r.deliveries:,}"),
        ("deliveries/s", lambda r: _fmt(r.deliveries_per_s)),
        ("p50 ms", lambda r: _fmt(r.p50_ms)),
        ("p99 ms", lambda r: _fmt(r.p99_ms)),
        ("max ms", lambda r: _fmt(r.max_ms)),
        ("p50 from send", lambda r: _fmt(r.p50_from_send_ms)),
        ("p99 from send", lambda r: _fmt(r.p99_from_send_ms)),
        ("write p99 ms", lambda r: _fmt(r.write_p99_ms)),
    ),
)
_COST = _Table(
    "Cost. CPU over the write phase and its drain (cores = CPU-s / phase): the whole "
    "machine, what of it was neither ours nor PostgreSQL's, both servers' processes, "
    "each server process's busiest second (1.00: its one event loop saturated), every "
    "PostgreSQL process, the client processes. Per delivery: all server CPU, and without "
    "the writes' own cost (measured with no subscriber). Memory: both servers' RSS before "
    "and after opening the connections (and at the end), per connection.",
    (
        _SUBSCRIBERS,
        ("phase s", lambda r: _fmt(r.phase_s)),
        ("machine cores", lambda r: _fmt(r.machine_busy_cpus, 2)),
        ("others' cores", lambda r: _fmt(r.others_cpus, 2)),
        ("server cores", lambda r: _fmt(r.server_cpu_s / r.phase_s, 2)),
        ("busiest s/proc", lambda r: " ".join(f"{share:.2f}" for share in r.busiest_server_s)),
        ("srv ms/delivery", lambda r: _fmt(r.server_cpu_ms_per_delivery, 3)),
        ("ms/delivery -writes", lambda r: _fmt(r.delivery_cpu_ms, 3)),
        ("ms/write alone", lambda r: _fmt(r.write_cpu_ms_alone, 1)),
        ("DB cores", lambda r: _fmt(None if r.db_cpu_s is None else r.db_cpu_s / r.phase_s, 2)),
        ("client cores", lambda r: _fmt(r.client_cpu_s / r.phase_s, 2)),
        ("RSS MB before", lambda r: _fmt(sum(r.rss_before_mb))),
        ("RSS MB after", lambda r: _fmt(sum(r.rss_after_mb))),
        ("RSS MB end", lambda r: _fmt(sum(r.rss_end_mb))),
        ("KiB/conn", lambda r: _fmt(r.kib_per_connection, 0)),
    ),
)
_CORRECTNESS = _Table(
    "Correctness per subscriber, summed: committed writes not received, received twice, "
    "out of stream order; deliveries of no committed write; writes whose cursor differed "
    "between subscribers; subscribers that failed or were closed.",
    (
        _SUBSCRIBERS,
        ("missing", lambda r: r.missing),
        ("duplicated", lambda r: r.duplicated),
        ("out of order", lambda r: r.out_of_order),
        ("unexpected", lambda r: r.unexpected),
        ("cursor differs", lambda r: r.cursor_disagreements),
        ("failed subs", lambda r: r.failed_subscribers),
        ("verdict", lambda r: "PASS" if r.correct else "FAIL"),
    ),
    right_from=1,
)


def print_report(options: LiveOptions, runs: Sequence[LiveRun], notes: Sequence[str]) -> None:
    print()
    _say(
        f"Live updates: {SERVER_PROCESSES} backlog processes (uvicorn, 1 worker each), "
        f"subscribers spread evenly, {options.clients} client processes on this machine "
        f"(permessage-deflate {'offered' if options.compression else 'off'}), issueUpdate "
        f"over HTTP at {options.rate:g}/s for {options.seconds:g} s."
    )
    print("\n\n".join(table.render(runs) for table in (_LATENCY, _COST, _CORRECTNESS)))
    for r in runs:
        if r.first_subscriber_error:
            print(f"first subscriber error ({r.subscribers}): {r.first_subscriber_error}")
    print()
    print("Targets")
    print(report._table(("target", "wanted", "measured", "verdict"), _targets(runs), 99))
    for note in notes:
        _say(f"note: {note}")


def _say(paragraph: str) -> None:
    print(_filled(paragraph))


def _filled(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=100)


def _targets(runs: Sequence[LiveRun]) -> list[tuple[str, str, str, str]]:
    judged = [r for r in runs if r.subscribers >= TARGET_SUBSCRIBERS and r.rate >= TARGET_RATE]
    if not judged:
        wanted = f"{TARGET_SUBSCRIBERS:,} subscribers at {TARGET_RATE:g} writes/s"
        return [("live delivery", wanted, "not run", "n/a")]
    rows = []
    for r in judged:
        at = f"{r.subscribers:,} subs, {r.rate:g} w/s"
        # The commit lies between the two bounds: between them, the run cannot tell.
        if r.p99_from_send_ms < TARGET_P99_MS:
            verdict = "PASS"
        elif r.p99_ms >= TARGET_P99_MS:
            verdict = "FAIL"
        else:
            verdict = "UNSURE (between the bounds)"
        rows.append(
            (
                f"p99 delivery ({at})",
                f"< {TARGET_P99_MS:g} ms",
                f"{r.p99_ms:,.1f} to {r.p99_from_send_ms:,.1f} ms",
                verdict,
            )
        )
        rows.append(
            (
                f"deliveries/s ({at})",
                f">= {r.subscribers * r.rate * 0.95:,.0f} (95% of offered)",
                f"{r.deliveries_per_s:,.0f}",
                "PASS" if r.deliveries_per_s >= r.subscribers * r.rate * 0.95 else "FAIL",
            )
        )
        rows.append(
            (
                f"every event once, in order ({at})",
                "0 missing/dup/out of order",
                f"{r.missing}/{r.duplicated}/{r.out_of_order}",
                "PASS" if r.correct else "FAIL",
            )
        )
    return rows


def write_json(
    options: LiveOptions, runs: Sequence[LiveRun], notes: Sequence[str], elapsed: float
) -> Path:
    return report.write_bench_json(
        options.results_dir,
        "live",
        options,
        elapsed,
        server_processes=SERVER_PROCESSES,
        runs=[asdict(run) for run in runs],
        notes=list(notes),
    )
