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
    """The settings use cases read (the server's `Settings` has them all)."""

    @property
    def loaders_enabled(self) -> bool: ...
    @property
    def sign_in_throttle_minutes(self) -> int: ...
    @property
    def sign_in_failures_per_account(self) -> int: ...
    @property
    def sign_in_failures_per_address(self) -> int: ...
    @property
    def refresh_token_days(self) -> int: ...
    @property
    def app_url(self) -> str: ...
    @property
    def webhooks_may_reach_private(self) -> bool: ...
    @property
    def password_reset_minutes(self) -> int: ...
    @property
    def password_reset_emails(self) -> int: ...


@dataclass(slots=True)
class Context:
    """One database handle, one set of loaders bound to the viewer's read scope, one viewer.
    Made by `Context.for_request` only."""

    request: HTTPConnection | None
    db: RequestDatabase
    loaders: Loaders
    viewer: Viewer
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
