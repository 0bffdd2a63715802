"""What `backlog` checks once, in its first process, before it migrates or serves.

A check that fails raises `StartupError`, whose message is one line naming the setting to fix;
`backlog` prints it and exits non-zero. Made before uvicorn starts its worker processes, these
checks stop a misconfigured server once, instead of letting every worker fail and be restarted.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import socket
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.session import create_engine
from server.settings import Settings, SettingsError, read_settings
from server.signing_key import SigningKeyError, access_token_issuer

DATABASE_TIMEOUT_SECONDS = 10
OLDEST_POSTGRESQL = 150000  # `server_version_num` of 15.0


class StartupError(Exception):
    """A setting that keeps Backlog from starting: the message says which, in one line."""


def checked_settings(*, signing_key: bool = True) -> Settings:
    """The settings, and (for a server) the access-token secret they give."""
    try:
        settings = read_settings()
        if signing_key:
            access_token_issuer(settings)
    except (SettingsError, SigningKeyError) as error:
        raise StartupError(str(error)) from None
    return settings


def check_listen_address(host: str, port: int) -> None:
    """Bind (and listen on) what uvicorn will, to find a port in use before workers start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
            probe.listen()
        except OSError as error:
            raise StartupError(_cannot_listen(host, port, error)) from None


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return f"--port {port}: {host}:{port} is already in use (choose another with --port)"
    if error.errno == errno.EACCES:
        return f"--port {port}: listening on {host}:{port} needs privileges this process lacks"
    return f"--port {port}: cannot listen on {host}:{port} ({error.strerror})"


def check_database(url: str, setting: str = "DATABASE_URL") -> None:
    """Connect once: an unreachable or refusing server is named with the setting that points
    at it, in one line, instead of a driver's traceback."""
    _check_parameters(url, setting)
    try:
        version = asyncio.run(_server_version(url))
    except TimeoutError:
        raise StartupError(
            f"{setting}: no answer from PostgreSQL at {redacted(url)} "
            f"within {DATABASE_TIMEOUT_SECONDS} s"
        ) from None
    except (OSError, DBAPIError, asyncpg.PostgresError) as error:
        reason = database_error_reason(error)
        raise StartupError(
            f"{setting}: cannot connect to PostgreSQL at {redacted(url)}: {reason}"
        ) from None
    if version < OLDEST_POSTGRESQL:
        raise StartupError(
            f"{setting}: PostgreSQL {version // 10000} at {redacted(url)} is too old; "
            "Backlog needs 15 or newer"
        )


async def _server_version(url: str) -> int:
    engine = create_engine(url)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), engine.connect() as connection:
            return int(await connection.scalar(text("SHOW server_version_num")))
    finally:
        await engine.dispose()


def _check_parameters(url: str, setting: str) -> None:
    """A URL's query parameters become the driver's (asyncpg's) keyword arguments."""
    accepted = set(inspect.signature(asyncpg.connect).parameters) | {
        "prepared_statement_cache_size"  # taken by SQLAlchemy's asyncpg dialect
    }
    for name in parse_qs(urlsplit(url).query):
        if name not in accepted:
            hint = " (asyncpg takes ssl=require instead)" if name == "sslmode" else ""
            raise StartupError(f"{setting}: unknown parameter {name!r}{hint}")


def database_error_reason(error: BaseException) -> str:
    """The innermost cause, in one line: SQLAlchemy wraps asyncpg's errors."""
    while isinstance(error, DBAPIError) or error.__cause__ is not None:
        cause = error.orig if isinstance(error, DBAPIError) else error.__cause__
        if cause is None or cause is error:
            break
        error = cause
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is PostgreSQL running and listening there?)"
    if isinstance(error, socket.gaierror):
        return f"unknown host ({error.strerror})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def redacted(url: str) -> str:
    """`url` without its password (in the address or a `password=` parameter), for a log line."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username}:***@{host}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "password" for name, _ in query):
        masked = [(name, "***" if name == "password" else value) for name, value in query]
        parts = parts._replace(query=urlencode(masked, safe="*"))
    return urlunsplit(parts)
