"""`python -m bench.webhook_lag [--messages N]`: the outbox's lag for webhook deliveries, from
the commit of the transaction that wrote a message to its arrival at a receiver.

One in-process outbox worker (as in `backlog serve`: one slot per message, woken by the outbox's
NOTIFY) sends to a receiver on a localhost port; N messages are committed one by one, each after
the previous one arrived, so each lag is the worker's alone (no queue). On DATABASE_URL, or on an
embedded PostgreSQL in a temporary folder. Prints p50, p99 and the maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from db import outbox
from db.migrate import upgrade_to_head
from db.session import Database, create_engine
from server.settings import Settings
from server.webhook_delivery import KIND, WebhookSender
from server.worker import OutboxWorker


async def measure(url: str, messages: int) -> list[float]:
    arrived: dict[str, float] = {}
    arrival = asyncio.Event()

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        await reader.readexactly(length)
        arrived[head.split("webhook-id:", 1)[1].split("\r\n", 1)[0].strip()] = time.perf_counter()
        arrival.set()
        writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_engine(url, statement_timeout_ms=0)
    database = Database(engine)
    await upgrade_to_head(engine)
    settings = Settings(database_url=url, BACKLOG_WEBHOOK_ALLOW_PRIVATE="true")
    worker = OutboxWorker(database, {KIND: WebhookSender(settings)}, concurrency=1, listen_url=url)
    handle = database.request_handle()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    workspace = await handle.scalar(
        text("INSERT INTO workspaces (slug, name) VALUES (:s, 'Lag') RETURNING id").bindparams(
            s=f"lag-{secrets.token_hex(4)}"
        )
    )
    webhook = await handle.scalar(
        text(
            "INSERT INTO webhooks (workspace_id, url, event_types, secret) "
            "VALUES (:w, :u, ARRAY['issue.updated'], :s) RETURNING id"
        ).bindparams(w=workspace, u=f"http://127.0.0.1:{port}/hook", s=secret)
    )
    await handle.commit()
    await handle.close()
    running = asyncio.create_task(worker.run())
    lags = []
    try:
        await asyncio.sleep(1)  # the worker's LISTEN is in place
        for number in range(messages):
            arrival.clear()
            handle = database.request_handle()
            try:
                envelope = {"type": "issue.updated", "timestamp": "", "data": {"n": number}}
                await outbox.enqueue(handle, [outbox.NewMessage(KIND, envelope, webhook)])
                message = await handle.scalar(text("SELECT max(id) FROM outbox_messages"))
                await handle.commit()
                committed = time.perf_counter()
            finally:
                await handle.close()
            while f"msg_{message}" not in arrived:
                await asyncio.wait_for(arrival.wait(), 10)
                arrival.clear()
            lags.append(arrived[f"msg_{message}"] - committed)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        cleanup = database.request_handle()
        await cleanup.fetch_all(
            text("DELETE FROM workspaces WHERE id = :w").bindparams(w=workspace)
        )
        await cleanup.fetch_all(
            text("DELETE FROM outbox_messages WHERE target_id = :h").bindparams(h=webhook)
        )
        await cleanup.commit()
        await cleanup.close()
        await engine.dispose()
        server.close()
        await server.wait_closed()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    if url := os.environ.get("DATABASE_URL"):
        lags = asyncio.run(measure(url, args.messages))
    else:
        from db.embedded import database_url, start_embedded_postgres

        with tempfile.TemporaryDirectory(prefix="backlog-lag-") as folder:
            server = start_embedded_postgres(Path(folder) / "pgdata")
            try:
                lags = asyncio.run(measure(database_url(server), args.messages))
            finally:
                server.cleanup()
    milliseconds = sorted(lag * 1000 for lag in lags)
    p50 = statistics.median(milliseconds)
    p99 = milliseconds[min(len(milliseconds) - 1, round(0.99 * len(milliseconds)) - 1)]
    print(
        f"{len(milliseconds)} deliveries, commit to arrival: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {milliseconds[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
