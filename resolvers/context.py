"""The per-request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import strawberry

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from auth.viewer import Viewer
    from db.loaders import Loaders
    from db.session import RequestDatabase


@dataclass(slots=True)
class Context:
    """Built by the context getter: one database handle, one set of loaders, one viewer."""

    request: HTTPConnection | None
    db: RequestDatabase
    loaders: Loaders
    viewer: Viewer


Info: TypeAlias = strawberry.Info[Context, None]
