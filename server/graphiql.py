"""GraphiQL served by Backlog itself, so the explorer works offline and under a strict CSP.

`web/graphiql/install.py` (run by dev.py) installs the pinned, prebuilt GraphiQL, React and
explorer-plugin files into `web/graphiql/node_modules`. When they are there, the page loads every
script and stylesheet from `GRAPHIQL_ASSETS_PATH` on this server, and its Content-Security-Policy
allows nothing else. When they are not (npm could not reach its registry), the page falls back to
the same versions on unpkg.com, pinned by Subresource Integrity hashes, and its policy allows that
one host too: in development only, since production never serves a page that loads code from
another host (`serves_graphiql`). The page's own script is a file in the repo either way, never
inline. GraphiQL is served only where `BACKLOG_GRAPHIQL` allows it (by default in development).

Subscriptions run over a WebSocket to the same path on the page's own origin (graphql-transport-ws,
through the graphql-ws client that graphiql.min.js bundles, so there is nothing more to vendor),
which `connect-src 'self'` allows; the Headers tab's headers go as `connection_init`'s payload.

    if serves_graphiql(enabled=settings.graphiql, cdn_allowed=settings.is_development):
        routes += graphiql_asset_routes()

    # in the GET /graphql handler, for a browser (Accept: text/html):
    return graphiql_page(graphql_path="/graphql")

`BACKLOG_GRAPHIQL_ASSETS_DIR` points at another directory laid out like `web/graphiql`, for an
installation that is not an editable checkout.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from starlette.routing import BaseRoute

__all__ = ["GRAPHIQL_ASSETS_PATH", "graphiql_asset_routes", "graphiql_page", "serves_graphiql"]

GRAPHIQL_ASSETS_PATH = "/graphiql-assets"
ASSETS_DIR_ENV = "BACKLOG_GRAPHIQL_ASSETS_DIR"
DEFAULT_ASSETS_DIR = Path(__file__).resolve().parent.parent / "web" / "graphiql"
CDN_BASE_URL = "https://unpkg.com"

# Every asset URL carries its version or content hash, so browsers may keep it for good.
_IMMUTABLE = "public, max-age=31536000, immutable"

DEFAULT_QUERY = """\
# Ctrl-Enter runs the query. The Headers tab below
# sends headers with it, such as Authorization.
{
  viewer {
    name
    email
  }
  workspace(slug: "acme") {
    name
    issues(first: 10) {
      totalCount
      nodes {
        identifier
        title
        priority
        state {
          name
        }
        assignee {
          name
        }
      }
    }
  }
}
"""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorFile:
    """One prebuilt file of an npm package that package-lock.json pins to `version`."""

    package: str
    version: str
    file: str
    integrity: str

    @property
    def url_path(self) -> str:
        # The same layout as unpkg's, so the local and CDN URLs differ only in their base.
        return f"/{self.package}@{self.version}/{self.file}"


# Keep in step with web/graphiql/package-lock.json; integrity is the file's sha384, which is what
# both npm and unpkg serve for that version.
_VENDOR_SCRIPTS = (
    VendorFile(
        "react",
        "18.3.1",
        "umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    VendorFile(
        "react-dom",
        "18.3.1",
        "umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    VendorFile(
        "graphiql",
        "3.8.3",
        "graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    VendorFile(
        "@graphiql/plugin-explorer",
        "3.2.5",
        "dist/index.umd.js",
        "sha384-5p6hGdlOTvUy6Wf0GauxCz+xM9YB/YYvcGG+bf9msr2eyd+KVIxgRkepHgUijedJ",
    ),
)
_VENDOR_STYLES = (
    VendorFile(
        "graphiql",
        "3.8.3",
        "graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    VendorFile(
        "@graphiql/plugin-explorer",
        "3.2.5",
        "dist/style.css",
        "sha384-YN9MumWidbWKuNj8VfH5ggrFvm9YqAoIOMnKYpeGL3dr7Eg1qnQ+SAqSthdNZCjz",
    ),
)
VENDOR_FILES = (*_VENDOR_SCRIPTS, *_VENDOR_STYLES)

# The page's own files, shipped in the repo next to package.json.
_INIT_SCRIPT = "graphiql-init.js"
_PAGE_STYLE = "graphiql-page.css"


@dataclass(frozen=True)
class _OwnFile:
    name: str
    content: bytes
    media_type: str

    @property
    def url_path(self) -> str:
        # The content hash in the URL is what makes caching it for good safe.
        return f"/{self.name}?v={hashlib.sha256(self.content).hexdigest()[:16]}"


@dataclass(frozen=True)
class _Assets:
    """What one assets directory holds, read once: the page and the routes must agree on it."""

    init_script: _OwnFile
    page_style: _OwnFile
    vendor_dir: Path | None  # None: not installed, so the page uses the CDN

    @property
    def own_files(self) -> tuple[_OwnFile, ...]:
        return (self.init_script, self.page_style)


def serves_graphiql(*, enabled: bool, cdn_allowed: bool) -> bool:
    """Whether `GET /graphql` opens GraphiQL: when `enabled` (`BACKLOG_GRAPHIQL`), and, without
    the local assets, only where loading them from the CDN is allowed (development only)."""
    if not enabled:
        return False
    directory = _assets_dir()
    if _assets(directory).vendor_dir is not None:
        return True
    if cdn_allowed:
        logger.warning(
            "The pinned GraphiQL assets are not installed in %s, so the GraphiQL page loads them "
            "from %s. web/graphiql/install.py (which dev.py runs) installs them.",
            directory / "node_modules",
            CDN_BASE_URL,
        )
        return True
    logger.warning(
        "GraphiQL is off: its pinned assets are not installed in %s, and production never loads "
        "them from a CDN. web/graphiql/install.py (which dev.py runs) installs them.",
        directory / "node_modules",
    )
    return False


def graphiql_asset_routes() -> list[BaseRoute]:
    """The routes under `GRAPHIQL_ASSETS_PATH`: the page's own files, and the vendor files if
    they are installed. Only the listed files are reachable, never the rest of node_modules."""
    assets = _assets(_assets_dir())
    routes: list[BaseRoute] = [
        Route(f"/{own.name}", _serve_bytes(own), methods=["GET"]) for own in assets.own_files
    ]
    if assets.vendor_dir is not None:
        routes += [
            Route(vendor.url_path, _serve_file(assets.vendor_dir, vendor), methods=["GET"])
            for vendor in VENDOR_FILES
        ]
    return [Mount(GRAPHIQL_ASSETS_PATH, routes=routes, name="graphiql-assets")]


def graphiql_page(*, graphql_path: str = "/graphql") -> HTMLResponse:
    """The GraphiQL page, querying `graphql_path` on this server."""
    assets = _assets(_assets_dir())
    local = assets.vendor_dir is not None
    vendor_base = GRAPHIQL_ASSETS_PATH if local else CDN_BASE_URL
    # Same-origin files need no `crossorigin`; for the CDN it makes the integrity check possible.
    crossorigin = "" if local else ' crossorigin="anonymous"'
    styles = [
        f'<link rel="stylesheet" href="{_attr(vendor_base + vendor.url_path)}"'
        f' integrity="{vendor.integrity}"{crossorigin}>'
        for vendor in _VENDOR_STYLES
    ]
    styles.append(_own_stylesheet(assets.page_style))
    scripts = [
        f'<script src="{_attr(vendor_base + vendor.url_path)}"'
        f' integrity="{vendor.integrity}"{crossorigin} defer></script>'
        for vendor in _VENDOR_SCRIPTS
    ]
    scripts.append(_own_script(assets.init_script))
    body = _PAGE.format(
        favicon=_attr(_FAVICON),
        styles="\n    ".join(styles),
        scripts="\n    ".join(scripts),
        graphql_path=_attr(graphql_path),
        default_query=_attr(DEFAULT_QUERY),
    )
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": _content_security_policy(
                extra_source=None if local else CDN_BASE_URL
            ),
            # The page names versioned asset URLs: a cached copy would outlive an upgrade.
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _content_security_policy(*, extra_source: str | None) -> str:
    extra = f" {extra_source}" if extra_source else ""
    directives = {
        "default-src": "'self'",
        "script-src": f"'self'{extra}",
        # GraphiQL's dialogs (react-remove-scroll-bar) add a <style> element at run time, which
        # 'self' alone blocks. Inline styles cannot run code; the scripts stay strict.
        "style-src": f"'self' 'unsafe-inline'{extra}",
        # GraphiQL's fonts are data: URLs inside its stylesheet; the favicon is one too.
        "font-src": "'self' data:",
        "img-src": "'self' data:",
        # CSP level 3 lets 'self' cover ws:// and wss:// to this host too.
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _assets_dir() -> Path:
    configured = os.environ.get(ASSETS_DIR_ENV)
    return Path(configured).resolve() if configured else DEFAULT_ASSETS_DIR


@functools.cache
def _assets(directory: Path) -> _Assets:
    # Cached per directory so that the routes mounted at start-up and every later page agree on
    # whether the vendor files are local, and so that a page view reads no files.
    init_script = _OwnFile(_INIT_SCRIPT, (directory / _INIT_SCRIPT).read_bytes(), "text/javascript")
    page_style = _OwnFile(_PAGE_STYLE, (directory / _PAGE_STYLE).read_bytes(), "text/css")
    vendor_dir = directory / "node_modules"
    if not all(_is_installed(vendor_dir, vendor) for vendor in VENDOR_FILES):
        return _Assets(init_script, page_style, None)
    return _Assets(init_script, page_style, vendor_dir)


def _is_installed(vendor_dir: Path, vendor: VendorFile) -> bool:
    package_dir = vendor_dir / vendor.package
    try:
        installed = json.loads((package_dir / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return False
    return installed == vendor.version and (package_dir / vendor.file).is_file()


def _serve_file(vendor_dir: Path, vendor: VendorFile) -> Callable[[Request], Awaitable[Response]]:
    path = vendor_dir / vendor.package / vendor.file
    headers = {"Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff"}

    async def endpoint(request: Request) -> Response:
        return FileResponse(path, headers=headers)

    return endpoint


def _serve_bytes(own: _OwnFile) -> Callable[[Request], Awaitable[Response]]:
    headers = {"Cache-Control": _IMMUTABLE, "X-Content-Type-Options": "nosniff"}

    async def endpoint(request: Request) -> Response:
        return Response(own.content, media_type=own.media_type, headers=headers)

    return endpoint


def _own_stylesheet(own: _OwnFile) -> str:
    return f'<link rel="stylesheet" href="{_attr(GRAPHIQL_ASSETS_PATH + own.url_path)}">'


def _own_script(own: _OwnFile) -> str:
    return f'<script src="{_attr(GRAPHIQL_ASSETS_PATH + own.url_path)}" defer></script>'


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


# A data: URL icon, so the browser does not ask for /favicon.ico.
_FAVICON = (
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'>"
    "<text y='.9em' font-size='80'>\N{CLIPBOARD}</text></svg>"
)

_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Backlog GraphiQL</title>
    <link rel="icon" href="{favicon}">
    {styles}
    {scripts}
  </head>
  <body>
    <div id="graphiql" data-graphql-path="{graphql_path}"
      data-default-query="{default_query}">Loading GraphiQL&hellip;</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
  </body>
</html>
"""
