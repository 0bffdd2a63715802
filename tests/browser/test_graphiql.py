"""GraphiQL in a real headless Chromium against a real `backlog serve`: offline and CSP-clean,
running a query over HTTP and a subscription over a WebSocket.

Debian's chromium is driven through Playwright (`dev.py test` installs it with apt); Playwright's
own browser downloads are never used. Without chromium the browser tests are skipped, except on
CI.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
from tests.support.actors import OWNER
from tests.support.credentials import access_token
from tests.support.factories import RACE_SLUG, race_issue

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import ConsoleMessage, Locator, Page, Route, WebSocket
    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.support.factories import RaceWorkspace

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
# Init scripts run outside the page's CSP, so this reports every violation, whatever its kind.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""
QUERY = '{ workspace(slug: "acme") { name } }'
RACE_WORKSPACE = f'{{ workspace(slug: "{RACE_SLUG}") {{ id changes {{ cursor }} }} }}'
PARSED_A_SUBSCRIPTION = """() => {
  const editor = document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror;
  return editor.documentAST?.definitions[0]?.operation === "subscription";
}"""
ISSUE_UPDATE = """mutation ($input: IssueUpdateInput!) {
  issueUpdate(input: $input) { issue { title } errors { message } }
}"""


@pytest.mark.browser
async def test_graphiql_runs_a_query_offline_under_its_csp(
    chromium: Path, backlog_server: str
) -> None:
    async with _graphiql(chromium, backlog_server) as page:
        await _type_into(page.locator(".graphiql-query-editor .CodeMirror"), QUERY)
        await page.locator(".graphiql-execute-button").click()

        result = page.locator(".graphiql-response .result-window", has_text="Acme Inc.")
        await result.wait_for(timeout=10_000)
        assert "issues" not in await result.inner_text()


@pytest.mark.browser
async def test_graphiql_runs_a_subscription_over_a_websocket(
    chromium: Path, backlog_server: str, race: RaceWorkspace, engine: AsyncEngine
) -> None:
    """Over graphql-transport-ws to the page's own origin, with the Headers tab's headers as
    `connection_init`'s payload. The data is a committed workspace of the test's own (`race`)."""
    issue = await race_issue(race, "Before")
    async with httpx.AsyncClient(base_url=backlog_server) as http:
        workspace = (await _data(http, RACE_WORKSPACE))["workspace"]
        async with engine.connect() as connection:
            token = await access_token(connection, OWNER)
        urls: list[str] = []
        sent: list[dict[str, Any]] = []
        completed = asyncio.Event()

        def record(payload: str | bytes) -> None:
            sent.append(json.loads(payload))
            if sent[-1]["type"] == "complete":
                completed.set()

        def record_frames(websocket: WebSocket) -> None:
            urls.append(websocket.url)
            websocket.on("framesent", record)

        async with _graphiql(chromium, backlog_server) as page:
            page.on("websocket", record_frames)
            await page.locator(".graphiql-editor-tools button", has_text="Headers").click()
            headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden)")
            await _type_into(
                headers.locator(".CodeMirror"), json.dumps({"Authorization": f"Bearer {token}"})
            )
            # From the cursor taken before: the event comes whether or not the server has joined
            # the subscription to the workspace's stream when the mutation commits.
            subscription = (
                f'subscription {{ issueChanged(workspaceId: "{workspace["id"]}",'
                f' after: "{workspace["changes"]["cursor"]}") {{ action issue {{ title }} }} }}'
            )
            await _type_into(page.locator(".graphiql-query-editor .CodeMirror"), subscription)
            # GraphiQL picks the WebSocket by the document it parses 100 ms after the last
            # keystroke; a click before that would send the subscription over HTTP.
            await page.wait_for_function(PARSED_A_SUBSCRIPTION)
            await page.locator(".graphiql-execute-button").click()

            updated = await _data(
                http, ISSUE_UPDATE, {"input": {"id": issue, "title": "Renamed in GraphiQL"}}
            )
            assert updated["issueUpdate"]["errors"] == []
            result = page.locator(".graphiql-response .result-window", has_text="Renamed in")
            await result.wait_for(timeout=10_000)
            assert '"action": "UPDATED"' in await result.inner_text()
            # The same button stops the subscription: graphql-ws sends `complete`.
            await page.locator(".graphiql-execute-button").click()
            await asyncio.wait_for(completed.wait(), timeout=10)

    assert urls == [backlog_server.replace("http://", "ws://") + "/graphql"]
    assert sent[0] == {
        "type": "connection_init",
        "payload": {"Authorization": f"Bearer {token}"},
    }
    # graphql-ws answers the server's keep-alive pings in between.
    assert [message["type"] for message in sent[1:] if message["type"] != "pong"] == [
        "subscribe",
        "complete",
    ]


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


@asynccontextmanager
async def _graphiql(chromium: Path, server: str) -> AsyncIterator[Page]:
    """GraphiQL of `server` open in Chromium, which may reach nothing but 127.0.0.1. On the way
    out, fails if the page asked for anything elsewhere or logged any error, such as its CSP's."""
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

            response = await page.goto(f"{server}/graphql")
            assert response is not None
            assert response.ok
            assert "script-src 'self';" in response.headers["content-security-policy"]
            yield page
        finally:
            await browser.close()

    assert external_requests == [], "were the GraphiQL assets installed? (web/graphiql/install.py)"
    assert [error for error in console_errors if "Content Security Policy" in error] == []
    assert console_errors == []


async def _type_into(editor: Locator, text: str) -> None:
    """Replaces what a CodeMirror editor holds with `text`, typed as a user would."""
    await editor.click()
    await editor.page.keyboard.press("Control+A")
    await editor.page.keyboard.press("Delete")
    # CodeMirror closes brackets and quotes itself and types over them when they come.
    await editor.page.keyboard.type(text)


async def _data(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing, and CI must run the browser test")
        pytest.skip(f"{CHROMIUM} is missing (`python3 dev.py test` installs it)")
    return CHROMIUM
