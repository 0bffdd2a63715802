"""`python -m bench outbox`: outbox lag, from a write's commit to its webhook delivery.

One `backlog` process (uvicorn, one worker) on the bench database sends acme's `issue.updated`
events to a webhook whose receiver runs in this process on a local port and verifies every
delivery's signature with the reference `standardwebhooks` library. The outbox worker runs
inside the server process (as `backlog serve` runs it), or with `--separate-worker` as a
`backlog worker` process of its own (the server's turned off). A writer sends `issueUpdate`
through HTTP at a fixed rate (`--rate`, open loop) for `--seconds`, each write giving one of 100
acme issues a title that ends with its sequence number, so every delivery is matched to its write.

Lag per delivery: from the write's HTTP response (the commit is done: a lower bound) and from its
send (an upper bound), to the receiver's read of the delivery; and, from the outbox's own
timestamps, from the message's writing to its being recorded sent. CPU: the server process tree
and the separate worker, per write. Correctness: every committed write is delivered exactly once
(by its `webhook-id`), every signature verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bench import baseline, report, servers
from bench.database import DatabaseInfo, open_database
from bench.live import DeliveryLatency, Writer, delivery_latency
from bench.live_client import TITLE_MARK
from bench.options import (
    WriteBenchOptions,
    parse_write_bench,
    stopped_early,
    write_bench_parser,
)
from bench.procstat import CpuMeter, process_tree
from bench.workloads import WORKSPACE_SLUG
from core.ids import from_global_id
from db.subscriptions import plain_dsn
from server.settings import PROJECT_ROOT

DRAIN_S = 30.0
TARGET_P99_MS = 1000.0
"""Outbox lag p99 (from the commit) the bench holds Backlog to: a second, at a steady rate."""

CREATE = """\
mutation($input: WebhookCreateInput!) {
  webhookCreate(input: $input) { webhook { id } secret errors { code message } }
}
"""
WORKSPACE = "query($slug: String!) { workspace(slug: $slug) { id } }"
SENT_LAG = """\
SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY sent_at - created_at) AS lags,
       count(*) AS sent
FROM outbox_messages WHERE kind = 'webhook' AND target_id = $1 AND sent_at IS NOT NULL
"""


@dataclass(frozen=True)
class OutboxOptions(WriteBenchOptions):
    separate_worker: bool


def parse_options(argv: Sequence[str] | None) -> OutboxOptions:
    parser = write_bench_parser(
        "python -m bench outbox", __doc__, seconds_help="seconds of writes", rate=50.0
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="run the outbox worker as `backlog worker`, not inside the server",
    )
    args, fields = parse_write_bench(parser, argv)
    return OutboxOptions(**fields, separate_worker=args.separate_worker)


@dataclass
class OutboxRun(DeliveryLatency):
    """One run's figures; its latency is the webhook deliveries' (DeliveryLatency)."""

    writes: int
    write_failures: int
    deliveries: int
    missing: int
    duplicated: int
    bad_signatures: int
    outbox_p50_ms: float  # the outbox's own: sent_at - created_at
    outbox_p99_ms: float
    server_cpu_ms_per_write: float
    worker_cpu_ms_per_write: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def correct(self) -> bool:
        return not (self.missing or self.duplicated or self.bad_signatures or self.write_failures)


class Receiver:
    """A webhook endpoint on a local port: HTTP/1.1 with keep-alive, 204 to every POST. Each
    delivery is verified and kept by its `webhook-id`, with the time it was read."""

    def __init__(self) -> None:
        self.verifier: Webhook | None = None
        self.arrivals: dict[str, float] = {}
        self.by_seq: dict[int, float] = {}
        self.duplicates = 0
        self.bad_signatures = 0
        self.arrived = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                at = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self._keep(at, headers, body)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _keep(self, at: float, headers: dict[str, str], body: bytes) -> None:
        try:
            assert self.verifier is not None
            self.verifier.verify(body, headers)
        except (WebhookVerificationError, AssertionError):
            self.bad_signatures += 1
            return
        message_id = headers["webhook-id"]
        if message_id in self.arrivals:
            self.duplicates += 1
            return
        self.arrivals[message_id] = at
        # The write's sequence number, from the title.
        title = orjson.loads(body)["data"]["object"].get("title", "")
        _, mark, seq = title.rpartition(TITLE_MARK)
        if mark and seq.isdigit():
            self.by_seq[int(seq)] = at
        self.arrived.set()

    async def all_of(self, seqs: set[int]) -> None:
        while not seqs <= self.by_seq.keys():
            self.arrived.clear()
            await self.arrived.wait()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    notes: list[str] = []
    if (busy := report.busy_cpus()) > 0.25:
        notes.append(f"other processes kept {busy:.2f} CPUs busy at the start: noisier figures")
    bench_options = options.bench_options()
    began = time.monotonic()
    try:
        with open_database(bench_options, notes) as db:
            run = run_one(options, db, notes)
    except (servers.ServerError, KeyboardInterrupt) as error:
        return stopped_early("bench outbox", error)
    print_report(options, run, notes)
    path = write_json(options, run, notes, time.monotonic() - began)
    print(f"\nWrote {path}")
    return 0 if run.correct else 1


def run_one(options: OutboxOptions, db: DatabaseInfo, notes: list[str]) -> OutboxRun:
    env = {
        **servers.SERVERS["backlog"].env,
        "BACKLOG_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on this machine
        "BACKLOG_OUTBOX_WORKER": "false" if options.separate_worker else "true",
    }
    spec = servers.ServerSpec("backlog", "", servers.BACKLOG_APP, env)
    log_dir = options.data_dir / "logs"
    server = servers.start(spec, database_url=db.url, workers=1, log_dir=log_dir)
    worker = None
    try:
        if options.separate_worker:
            worker = _start_worker(db.url, env, log_dir)
        return asyncio.run(_measure(options, db, server, worker))
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        server.stop()
        baseline.restore_database(db.url)


def _start_worker(url: str, env: dict[str, str], log_dir: Path) -> Any:
    import subprocess

    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "outbox-worker.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, "DATABASE_URL": url, "BACKLOG_ENV": "development"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def _measure(
    options: OutboxOptions, db: DatabaseInfo, server: servers.RunningServer, worker: Any
) -> OutboxRun:
    assert db.targets is not None
    receiver = Receiver()
    port = await receiver.start()
    graphql = server.url("/graphql")
    async with httpx.AsyncClient(timeout=60.0) as http:
        workspace = await _graphql(http, graphql, WORKSPACE, slug=WORKSPACE_SLUG)
        created = await _graphql(
            http,
            graphql,
            CREATE,
            input={
                "workspaceId": workspace["workspace"]["id"],
                "url": f"http://127.0.0.1:{port}/hook",
                "eventTypes": ["ISSUE_UPDATED"],
            },
        )
        payload = created["webhookCreate"]
        if payload["errors"]:
            raise servers.ServerError(f"webhookCreate: {payload['errors']}")
        receiver.verifier = Webhook(payload["secret"])
        writer = Writer(http, [graphql], db.targets)

        print("   warm-up: one write, delivered", flush=True)
        await writer.write()
        await asyncio.wait_for(receiver.arrived.wait(), DRAIN_S)

        print(f"   writes: {options.seconds:g} s at {options.rate:g}/s", flush=True)
        meters = {"server": CpuMeter(), "worker": CpuMeter()}
        meters["server"].start(lambda: process_tree(server.pid))
        meters["worker"].start(lambda: process_tree(worker.pid) if worker else [])
        first, last = await writer.run(options.rate, options.seconds)
        expected = {seq for seq in range(first, last + 1) if seq in writer.done}
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.all_of(expected), DRAIN_S)
        cpu = {name: meter.stop() for name, meter in meters.items()}
    outbox_lags = await _outbox_lags(db.url, payload["webhook"]["id"])
    await receiver.stop()
    arrived = receiver.by_seq
    from_commit = sorted(arrived[seq] - writer.done[seq] for seq in expected if seq in arrived)
    from_send = sorted(arrived[seq] - writer.sent[seq] for seq in expected if seq in arrived)
    writes = len(expected)
    return OutboxRun(
        writes=writes,
        write_failures=sum(1 for seq in range(first, last + 1) if seq not in writer.done),
        deliveries=len(from_commit),
        missing=len(expected - arrived.keys()),
        duplicated=receiver.duplicates,
        bad_signatures=receiver.bad_signatures,
        **delivery_latency(from_commit, from_send),
        outbox_p50_ms=outbox_lags[0],
        outbox_p99_ms=outbox_lags[1],
        server_cpu_ms_per_write=cpu["server"] * 1000 / max(writes, 1),
        worker_cpu_ms_per_write=cpu["worker"] * 1000 / max(writes, 1) if worker else None,
    )


async def _graphql(http: httpx.AsyncClient, url: str, query: str, **variables: Any) -> Any:
    response = await http.post(url, json={"query": query, "variables": variables})
    answer = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise servers.ServerError(f"{query.split('(')[0]}: HTTP {response.status_code} {answer}")
    return answer["data"]


async def _outbox_lags(url: str, webhook_id: str) -> tuple[float, float]:
    decoded = from_global_id(webhook_id)
    assert decoded is not None
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        row = await connection.fetchrow(SENT_LAG, decoded[1])
    finally:
        await connection.close()
    assert row is not None  # an aggregate
    p50, p99 = (
        lag.total_seconds() * 1000 if lag is not None else float("nan")
        for lag in row["lags"] or (None, None)
    )
    return p50, p99


def print_report(options: OutboxOptions, run: OutboxRun, notes: Sequence[str]) -> None:
    fmt = report._fmt
    where = "a separate `backlog worker`" if options.separate_worker else "inside the server"
    print()
    print(
        f"Outbox: issueUpdate at {options.rate:g}/s for {options.seconds:g} s, one webhook, "
        f"the worker {where}."
    )
    headers = (
        "writes", "deliveries", "missing", "dup", "bad sig", "p50 ms", "p99 ms", "max ms",
        "p50 from send", "p99 from send", "outbox p50", "outbox p99", "srv ms/write",
        "worker ms/write",
    )  # fmt: skip
    row = (
        f"{run.writes:,}" + (f" ({run.write_failures} failed !!)" if run.write_failures else ""),
        f"{run.deliveries:,}",
        str(run.missing),
        str(run.duplicated),
        str(run.bad_signatures),
        fmt(run.p50_ms),
        fmt(run.p99_ms),
        fmt(run.max_ms),
        fmt(run.p50_from_send_ms),
        fmt(run.p99_from_send_ms),
        fmt(run.outbox_p50_ms),
        fmt(run.outbox_p99_ms),
        fmt(run.server_cpu_ms_per_write, 2),
        fmt(run.worker_cpu_ms_per_write, 2),
    )
    print(report._table(headers, [row], right_from=0))
    verdict = "PASS" if run.p99_ms <= TARGET_P99_MS else "FAIL"
    print(f"\nTarget: p99 from the commit <= {TARGET_P99_MS:g} ms: {verdict}")
    for note in notes:
        print(f"note: {note}")


def write_json(
    options: OutboxOptions, run: OutboxRun, notes: Sequence[str], elapsed: float
) -> Path:
    return report.write_bench_json(
        options.results_dir, "outbox", options, elapsed, run=asdict(run), notes=list(notes)
    )
