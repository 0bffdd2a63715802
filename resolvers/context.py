"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import strawberry

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from auth.tokens import AccessTokenIssuer
    from auth.viewer import Viewer
    from db.loaders import Loaders
    from db.session import RequestDatabase
    from server.settings import Settings


@dataclass(slots=True)
class Context:
    """Built by the context getter: one database handle, one set of loaders, one viewer."""

    request: HTTPConnection | None
    db: RequestDatabase
    loaders: Loaders
    viewer: Viewer
    settings: Settings
    access_tokens: AccessTokenIssuer

    @property
    def client_address(self) -> str:
        client = self.request.client if self.request is not None else None
        return client.host if client is not None else "unknown"


Info: TypeAlias = strawberry.Info[Context, None]
