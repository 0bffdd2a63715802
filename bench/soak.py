"""`python -m bench --soak SECONDS`: resident memory of one Backlog worker under steady load.

One `backlog` server (uvicorn, as deployed, one worker) takes the `mixed` workload for SECONDS
from `--concurrency` keep-alive connections (its first value, 16 by default), each sending its
next request as soon as the last one is answered. The load comes from this process, in Python
(asyncio and httpx), so the soak runs where wrk is not installed and counts every answer it
checks; it costs the bench process CPU, not the server. Every `SAMPLE_S` seconds the server's
resident set (VmRSS from /proc, its whole process tree) is read.

The report is one row per minute (requests, requests/s, RSS at the minute's end and against
the reference minute) and a verdict: after warm-up, does RSS stay within `TOLERANCE` of its
level at minute `REFERENCE_MINUTE`? A soak too short for that minute is compared with its
middle minute instead, and says so. The rows also go to `soak-<timestamp>.csv` in
`--results-dir`. What the load wrote is undone afterwards (bench/baseline.py).
"""

from __future__ import annotations

import asyncio
import csv
import random
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import orjson

from bench import baseline, servers
from bench.load import fill
from bench.procstat import process_tree, rss_mb
from bench.workloads import WORKLOADS

if TYPE_CHECKING:
    from bench.database import DatabaseInfo
    from bench.options import Options

WORKLOAD = "mixed"
SAMPLE_S = 10.0
REFERENCE_MINUTE = 5
TOLERANCE = 0.10
REQUEST_TIMEOUT_S = 60.0
# A non-empty `"errors"` list anywhere: GraphQL's, or a mutation payload's typed errors (an
# empty one is success), as the wrk script of bench/load.py counts them.
FAILED_ANSWER = re.compile(rb'"errors"\s*:\s*\[\s*[^\]\s]')


@dataclass
class _Load:
    """What the load generator did so far; written by its thread, read by the sampler."""

    requests: int = 0
    errors: int = 0
    first_error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Minute:
    minute: int
    requests: int
    requests_per_s: float
    rss_mb: float


@dataclass(frozen=True)
class Verdict:
    reference_minute: int
    reference_mb: float
    lowest_mb: float
    highest_mb: float
    within: bool

    @property
    def spread(self) -> float:
        """The largest distance from the reference level, as a fraction of it."""
        return max(self.highest_mb / self.reference_mb - 1, 1 - self.lowest_mb / self.reference_mb)


def run_soak(options: Options, db: DatabaseInfo, seconds: float) -> int:
    """Run the soak; 0 when every request succeeded, 1 otherwise (a memory verdict that fails
    is a finding in the report, as a missed target is in the benchmark)."""
    assert db.targets is not None
    concurrency = options.concurrency[0]
    bodies = [
        (weight, orjson.dumps(operation.backlog))
        for weight, operation in WORKLOADS[WORKLOAD].operations(db.targets)
    ]
    server = servers.start(
        servers.SERVERS["backlog"],
        database_url=db.url,
        workers=1,
        log_dir=options.data_dir / "logs",
    )
    load = _Load()
    try:
        print("   " + " ".join(server.command), flush=True)
        print(
            f"Soak: {WORKLOAD} at concurrency {concurrency} for {seconds:g} s, RSS every "
            f"{SAMPLE_S:g} s ...",
            flush=True,
        )
        generator = threading.Thread(
            target=asyncio.run,
            args=(_generate(server.url("/graphql"), bodies, concurrency, load),),
            daemon=True,
        )
        generator.start()
        minutes = _sample(server, load, seconds)
        load.stop.set()
        generator.join(REQUEST_TIMEOUT_S + 5)
    finally:
        load.stop.set()
        server.stop()
        baseline.restore_database(db.url)
    verdict = judge(minutes)
    path = _write_csv(options, minutes, verdict)
    print(format_report(minutes, verdict))
    print(f"\nWrote {path}")
    if load.errors:
        print(f"soak failed: {load.errors} failed requests; the first: {load.first_error}")
        return 1
    return 0


async def _generate(
    url: str, bodies: list[tuple[float, bytes]], concurrency: int, load: _Load
) -> None:
    """`concurrency` connections, each POSTing a weighted random body after the last answer."""
    weights = [weight for weight, _ in bodies]
    templates = [body for _, body in bodies]
    sequence = iter(range(1, 1 << 62))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json", "accept": "application/json"}

    async def connection(seed: int) -> None:
        choose = random.Random(seed).choices
        while not load.stop.is_set():
            (template,) = choose(templates, weights)
            body = fill(template, next(sequence))
            try:
                response = await client.post(url, content=body, headers=headers)
                failed = response.status_code != 200 or bool(FAILED_ANSWER.search(response.content))
                detail = f"HTTP {response.status_code}: {response.content[:300]!r}"
            except httpx.HTTPError as error:
                failed, detail = True, repr(error)
            load.requests += 1
            if failed:
                load.errors += 1
                load.first_error = load.first_error or detail

    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S) as client:
        await asyncio.gather(*(connection(seed) for seed in range(concurrency)))


def _sample(server: servers.RunningServer, load: _Load, seconds: float) -> list[Minute]:
    """RSS every SAMPLE_S seconds; one row per whole minute (and one for a last partial one)."""
    began = time.monotonic()
    minutes: list[Minute] = []
    minute_began, minute_requests = began, 0
    while True:
        now = time.monotonic()
        elapsed = now - began
        if elapsed >= seconds:
            break
        time.sleep(min(SAMPLE_S, seconds - elapsed))
        if server.process.poll() is not None:
            raise servers.ServerError(f"the server exited during the soak (see {server.log_path})")
        now = time.monotonic()
        rss = rss_mb(process_tree(server.pid))
        if now - minute_began >= 60 - 0.5 or now - began >= seconds:
            done = load.requests - minute_requests
            minutes.append(Minute(len(minutes) + 1, done, done / (now - minute_began), rss))
            print(
                f"   minute {len(minutes):>3}: {done:>6,} requests, RSS {rss:7.1f} MB",
                flush=True,
            )
            minute_began, minute_requests = now, load.requests
    return minutes


def judge(minutes: list[Minute]) -> Verdict:
    """RSS from the reference minute on, against its level there."""
    reference = REFERENCE_MINUTE if len(minutes) > REFERENCE_MINUTE else max(1, len(minutes) // 2)
    after = [m.rss_mb for m in minutes[reference - 1 :]]
    level = minutes[reference - 1].rss_mb
    lowest, highest = min(after), max(after)
    within = highest <= level * (1 + TOLERANCE) and lowest >= level * (1 - TOLERANCE)
    return Verdict(reference, level, lowest, highest, within)


def format_report(minutes: list[Minute], verdict: Verdict) -> str:
    reference = verdict.reference_minute
    lines = [
        "",
        f"| minute | requests | req/s | RSS MB | vs minute {reference} |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in minutes:
        versus = m.rss_mb / verdict.reference_mb - 1
        lines.append(
            f"| {m.minute} | {m.requests:,} | {m.requests_per_s:.1f} | {m.rss_mb:.1f} "
            f"| {versus:+.1%} |"
        )
    note = "" if reference == REFERENCE_MINUTE else f" (too short for minute {REFERENCE_MINUTE})"
    outcome = "PASS" if verdict.within else "FAIL"
    lines.append(
        f"\n{outcome}: from minute {reference}{note} on, RSS stayed between "
        f"{verdict.lowest_mb:.1f} and {verdict.highest_mb:.1f} MB, at most "
        f"{verdict.spread:.1%} from its {verdict.reference_mb:.1f} MB there "
        f"(allowed: {TOLERANCE:.0%})."
    )
    return "\n".join(lines)


def _write_csv(options: Options, minutes: list[Minute], verdict: Verdict) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options.results_dir.mkdir(parents=True, exist_ok=True)
    path = options.results_dir / f"soak-{stamp}.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        versus = f"vs_minute_{verdict.reference_minute}"
        writer.writerow(["minute", "requests", "requests_per_s", "rss_mb", versus])
        for m in minutes:
            writer.writerow(
                [
                    m.minute,
                    m.requests,
                    round(m.requests_per_s, 1),
                    round(m.rss_mb, 1),
                    round(m.rss_mb / verdict.reference_mb - 1, 4),
                ]
            )
    return str(path)
