"""GraphiQL in a real headless Chromium against a real `backlog serve`: offline and CSP-clean.

Debian's chromium is driven through Playwright (`dev.py test` installs it with apt); Playwright's
own browser downloads are never used. Without chromium the browser test is skipped, except on CI.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright
from starlette.applications import Starlette

from server.graphiql import (
    DEFAULT_ASSETS_DIR,
    GRAPHIQL_ASSETS_PATH,
    VENDOR_FILES,
    graphiql_asset_routes,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import ConsoleMessage, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 20
# Init scripts run outside the page's CSP, so this reports every violation, whatever its kind.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""
QUERY = '{ workspace(slug: "acme") { name } }'


@pytest.mark.browser
async def test_graphiql_runs_a_query_offline_under_its_csp(
    chromium: Path, backlog_server: str
) -> None:
    external_requests: list[str] = []
    console_errors: list[str] = []

    async def keep_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            external_requests.append(route.request.url)
            await route.abort()

    def record_error(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            await context.add_init_script(REPORT_CSP_VIOLATIONS)
            await context.route("**/*", keep_local)
            page = await context.new_page()
            page.on("console", record_error)
            page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))

            response = await page.goto(f"{backlog_server}/graphql")
            assert response is not None
            assert response.ok
            assert "script-src 'self';" in response.headers["content-security-policy"]

            editor = page.locator(".graphiql-query-editor .CodeMirror")
            await editor.click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            # CodeMirror closes brackets and quotes itself and types over them when they come.
            await page.keyboard.type(QUERY)
            await page.locator(".graphiql-execute-button").click()

            result = page.locator(".graphiql-response .result-window", has_text="Acme Inc.")
            await result.wait_for(timeout=10_000)
            assert "issues" not in await result.inner_text()
        finally:
            await browser.close()

    assert external_requests == [], "were the GraphiQL assets installed? (web/graphiql/install.py)"
    assert [error for error in console_errors if "Content Security Policy" in error] == []
    assert console_errors == []


async def test_only_the_listed_files_are_served() -> None:
    app = Starlette(routes=graphiql_asset_routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://backlog.test") as client:
        init = await client.get(f"{GRAPHIQL_ASSETS_PATH}/graphiql-init.js")
        assert init.status_code == 200
        assert "immutable" in init.headers["cache-control"]
        for path in ("/graphiql/package.json", "/graphiql@3.8.3/package.json", "/../install.py"):
            assert (await client.get(GRAPHIQL_ASSETS_PATH + path)).status_code == 404


def test_cdn_pins_match_the_lockfile() -> None:
    """The CDN fallback must load the very files that npm installs."""
    lock = json.loads((DEFAULT_ASSETS_DIR / "package-lock.json").read_text())
    for vendor in VENDOR_FILES:
        assert lock["packages"][f"node_modules/{vendor.package}"]["version"] == vendor.version
        installed = DEFAULT_ASSETS_DIR / "node_modules" / vendor.package / vendor.file
        if installed.exists():
            digest = base64.b64encode(hashlib.sha384(installed.read_bytes()).digest()).decode()
            assert vendor.integrity == f"sha384-{digest}", vendor


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing, and CI must run the browser test")
        pytest.skip(f"{CHROMIUM} is missing (`python3 dev.py test` installs it)")
    return CHROMIUM


@pytest.fixture
async def backlog_server(seeded_database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """`backlog serve` on a free port of 127.0.0.1, serving the seeded database."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("backlog")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env={**os.environ, "DATABASE_URL": seeded_database_url, "BACKLOG_ENV": "development"},
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        await _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_until_healthy(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    async with httpx.AsyncClient() as client:
        try:
            async with asyncio.timeout(SERVER_START_SECONDS):
                while process.returncode is None:
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"{url}/healthz")).status_code == 200:
                            return
                    await asyncio.sleep(0.1)
        except TimeoutError:
            problem = f"did not answer /healthz within {SERVER_START_SECONDS} s"
        else:
            problem = f"exited with {process.returncode}"
    pytest.fail(f"backlog serve {problem}:\n{await asyncio.to_thread(log.read_text)}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
