"""What cost analysis and rate limits add to a request, measured in process.

- **Cost**: on each read document the workloads send, after parsing, the walk of the document
  (`server.cost.walked_cost`: what the first request of a document pays) and the cost kept for
  it (`operation_cost` again: what every later request pays); `timeit`, best of 5.
- **Rate limit, lease hit**: `RateLimiter.charge` paid from the process's lease (what nearly
  every request of a busy caller pays: no statement).
- **Rate limit, charge**: `RateLimiter.charge` when the lease is spent: one statement
  (`rate_limit_charge`) in a transaction on the limiter's pool, against the bench's PostgreSQL;
  the median of `CHARGES` round trips.
- **Statements per request** at the default budgets: how often a caller sending one document
  again and again must charge PostgreSQL (points per request over points per lease).

The end-to-end price is the `backlog` / `backlog-unlimited` ratio in the report's tables: the
same server with and without rate limits, side by side in one run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import timeit
import uuid
from typing import Any

from graphql import parse

from bench.workloads import DOCUMENTS, Operation
from db.session import Database, create_engine
from execution.graphql_internals import graphql_schema
from server.cost import operation_cost, walked_cost
from server.rate_limit import LEASE_FRACTION, Charge, RateLimiter, request_points
from server.settings import Settings

CHARGES = 200


def measure(url: str, operations: dict[str, Operation]) -> dict[str, Any]:
    return asyncio.run(_measure(url, operations))


async def _measure(url: str, operations: dict[str, Operation]) -> dict[str, Any]:
    from server.app import RATE_LIMIT_POOL_SIZE, create_schema

    defaults = Settings(database_url=url)
    limiter = RateLimiter(defaults)
    schema = graphql_schema(create_schema(defaults, limiter))
    documents: dict[str, Any] = {}
    for name, operation in operations.items():
        if DOCUMENTS[name].writes:
            continue
        document = parse(operation.backlog["query"])
        variables = operation.backlog.get("variables")
        objects = operation_cost(schema, document, None, variables)
        seconds, kept_seconds = (
            min(
                timeit.repeat(
                    lambda cost=cost, document=document, variables=variables: cost(
                        schema, document, None, variables
                    ),
                    number=500,
                    repeat=5,
                )
            )
            for cost in (walked_cost, operation_cost)
        )
        points = request_points(objects)
        lease = defaults.rate_limit // LEASE_FRACTION
        documents[name] = {
            "objects": objects,
            "points": points,
            "cost_us": round(seconds / 500 * 1e6, 1),
            "cost_kept_us": round(kept_seconds / 500 * 1e6, 1),
            "statements_per_request_at_default_budget": round(points / (points + lease), 2),
        }

    engine = create_engine(url, pool_size=RATE_LIMIT_POOL_SIZE)
    limiter.database = Database(engine)
    try:
        # A lease hit: the first charge takes a lease of 1% of a huge budget.
        big = [Charge(f"bench:{uuid.uuid4().hex}", 1, 10**12)]
        await limiter.charge(big)
        hit_s = min(timeit.repeat(lambda: _charge_from_lease(limiter, big), number=2000, repeat=5))
        # A charge: every key new, so the lease never pays.
        trips = []
        for _ in range(CHARGES):
            started = time.perf_counter()
            await limiter.charge([Charge(f"bench:{uuid.uuid4().hex}", 1, 10)])
            trips.append(time.perf_counter() - started)
    finally:
        await _forget_bench_keys(limiter.database)
        await engine.dispose()
    return {
        "documents": documents,
        "lease_hit_us": round(hit_s / 2000 * 1e6, 2),
        "charge_ms_median": round(statistics.median(trips) * 1e3, 3),
        "charge_ms_p95": round(statistics.quantiles(trips, n=20)[-1] * 1e3, 3),
        "default_budget": {
            "points": defaults.rate_limit,
            "lease": defaults.rate_limit // LEASE_FRACTION,
        },
    }


def _charge_from_lease(limiter: RateLimiter, charges: list[Charge]) -> None:
    # Paid from the lease, `charge` never awaits: drive the coroutine by hand, as timeit must.
    coroutine = limiter.charge(charges)
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise AssertionError("the lease did not pay: the figure would include a round trip")


async def _forget_bench_keys(database: Database) -> None:
    from sqlalchemy import text

    await database.run_alone(text("DELETE FROM rate_limit_windows WHERE key LIKE 'bench:%'"))


def print_report(found: dict[str, Any]) -> None:
    print("\nCost analysis and rate limits, per request (in process):")
    for name, figures in found["documents"].items():
        print(
            f"   {name:<8} {figures['objects']:>6,} objects = {figures['points']:>3} points; "
            f"cost walked in {figures['cost_us']} µs, then kept ({figures['cost_kept_us']} µs); "
            f"{figures['statements_per_request_at_default_budget']} statements/request "
            "for one caller sending it again and again at the default budget"
        )
    print(
        f"   rate limit paid from the lease: {found['lease_hit_us']} µs, no statement; "
        f"charged in PostgreSQL: 1 statement, {found['charge_ms_median']} ms median "
        f"({found['charge_ms_p95']} ms p95, {CHARGES} charges)"
    )
