"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

import strawberry

from auth import policies
from db.loaders import Loaders

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from auth.tokens import AccessTokenIssuer
    from auth.viewer import Viewer
    from core.limits import RateLimitStatus
    from db.session import RequestDatabase
    from resolvers.subscriptions import LiveUpdates


class RequestSettings(Protocol):
    """The settings use cases read (the server's `Settings` has them all). Read-only
    properties: a frozen settings object, or one computing a value, satisfies them."""

    @property
    def loaders_enabled(self) -> bool:
        """False only in the bench measuring what batching saves: each relation is then read
        with a statement of its own."""

    @property
    def sign_in_throttle_minutes(self) -> int:
        """How long a failed sign-in counts against its email and its client address."""

    @property
    def sign_in_failures_per_account(self) -> int:
        """Failures on one email that refuse its sign-ins until the oldest stops counting;
        refused the same whether or not the email has an account."""

    @property
    def sign_in_failures_per_address(self) -> int:
        """The same, from one client address, whatever the emails tried."""

    @property
    def refresh_token_days(self) -> int:
        """A refresh token's lifetime; each refresh hands out a new token, good for as long
        again."""

    @property
    def password_reset_minutes(self) -> int:
        """A reset link's lifetime, and the window `password_reset_emails` counts in."""

    @property
    def password_reset_emails(self) -> int:
        """Reset emails one account is sent at most per window; asking for more answers the
        same and sends nothing."""

    @property
    def app_url(self) -> str:
        """The web app's address, which links in emails point at; it may end in a slash."""

    @property
    def webhooks_may_reach_private(self) -> bool:
        """Whether a webhook's URL may use plain http and loopback, private or link-local
        addresses (cloud metadata addresses stay refused whatever this says)."""


@dataclass(slots=True)
class Context:
    """One database handle, one set of loaders bound to the viewer's read scope, one viewer.
    Made by `Context.for_request` only."""

    request: HTTPConnection | None
    """The HTTP request or WebSocket; None for a subscription's event, run by the server
    itself (`server/live.py`)."""
    db: RequestDatabase
    loaders: Loaders
    """Bound to `viewer`'s read scope; `reload` replaces them when a transaction ends (commit,
    rollback, retry) and for each batch of live events, so that no row read before is served
    after."""
    viewer: Viewer
    """Who asks; `reload` replaces it after a mutation that changed the viewer's own
    memberships."""
    settings: RequestSettings
    access_tokens: AccessTokenIssuer
    rate_limit: RateLimitStatus | None = None
    """Set before execution when rate limits are on (`server/rate_limit.py`)."""
    live: LiveUpdates | None = None
    """Where subscriptions are served: set on a WebSocket's (`server/live.py`)."""

    @classmethod
    def for_request(
        cls,
        request: HTTPConnection | None,
        db: RequestDatabase,
        viewer: Viewer,
        settings: RequestSettings,
        access_tokens: AccessTokenIssuer,
    ) -> Context:
        return cls(request, db, _loaders(db, viewer, settings), viewer, settings, access_tokens)

    def reload(self, viewer: Viewer | None = None) -> None:
        """After a commit (or a rollback), the rest of the response reads afresh: no loader
        keeps a row read before, and a viewer whose own memberships changed reads with the new
        scope."""
        if viewer is not None:
            self.viewer = viewer
        self.loaders = _loaders(self.db, self.viewer, self.settings)

    @property
    def client_address(self) -> str:
        client = self.request.client if self.request is not None else None
        return client.host if client is not None else "unknown"


def _loaders(db: RequestDatabase, viewer: Viewer, settings: RequestSettings) -> Loaders:
    return Loaders(db, policies.read_scope(viewer), batch=settings.loaders_enabled)


Info: TypeAlias = strawberry.Info[Context, None]
