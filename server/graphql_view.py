"""The `/graphql` endpoint: Strawberry's Starlette view with Backlog's context and responses.

Each HTTP request gets one database handle, one set of loaders and one viewer; the handle is
released in a `finally`, whatever happened. Responses follow the GraphQL-over-HTTP spec: a
client that accepts `application/graphql-response+json` gets it, with 4xx for request errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET

from auth.identity import viewer_by_email, viewer_for_bearer
from auth.tokens import InvalidTokenError
from auth.viewer import Viewer
from resolvers.context import Context
from server import request_text
from server.graphiql import graphiql_page
from server.operation_kind import reads_only
from server.request_text import holds_unstorable_text
from server.signing_key import access_token_issuer

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.websockets import WebSocket
    from strawberry.http import GraphQLHTTPResponse

    from db.session import Database, RequestDatabase
    from server.settings import Settings

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class BacklogResponse(Response):
    """Carries what the response needs to know about its request (set in get_sub_response)."""

    accepts_graphql_response = False


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema, subscription_protocols=(), allow_queries_via_get=True)
        self.settings = settings
        self.access_tokens = access_token_issuer(settings)

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        if request.scope["type"] != "http" or self.should_render_graphql_ide(
            self.request_adapter_class(request)  # type: ignore[arg-type]
        ):
            return await super().run(request, context=context, root_value=root_value)
        # Read (and size-check) the body before any database work, so an oversized or broken
        # upload costs no connection; Starlette caches it for Strawberry's parser.
        body = await request.body()  # type: ignore[union-attr]
        if holds_unstorable_text(body, request.url.query):
            # A request error (the document never runs): 400 where the client takes the
            # GraphQL-over-HTTP media type, 200 for plain JSON, as for validation errors.
            status = 400 if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "") else 200
            return _refused(request, status, request_text.MESSAGE, "BAD_USER_INPUT")
        database: Database = request.app.state.database
        snapshot = reads_only(request, body, max_tokens=self.settings.max_tokens)  # type: ignore[arg-type]
        db = database.request_handle(snapshot=snapshot)
        try:
            try:
                context = await self.build_context(request, db)
            except InvalidTokenError:
                return _unauthenticated(request)
            return await super().run(request, context=context, root_value=root_value)
        finally:
            await db.close()

    async def build_context(self, request: Request, db: RequestDatabase) -> Context:
        viewer = await self.authenticate(request, db)
        return Context.for_request(request, db, viewer, self.settings, self.access_tokens)

    async def authenticate(self, request: Request, db: RequestDatabase) -> Viewer:
        """The request's viewer. A request without credentials is anonymous (in development:
        the demo user); bad credentials raise InvalidTokenError, never fall back."""
        header = request.headers.get("authorization")
        if header is None:
            if self.settings.is_development:
                return await viewer_by_email(db, self.settings.demo_viewer_email)
            return Viewer.anonymous()
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise InvalidTokenError("not a Bearer credential")
        return await viewer_for_bearer(db, credential.strip(), self.access_tokens)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(graphql_path=request.url.path)

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = BacklogResponse()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        accept = request.headers.get("accept", "")
        sub_response.accepts_graphql_response = GRAPHQL_RESPONSE_JSON in accept
        return sub_response

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "accepts_graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON + "; charset=utf-8"
            if (
                isinstance(response_data, dict)
                and response_data.get("data") is None
                and not sub_response.status_code
                and _is_request_error(response_data)
            ):
                # A request error (the document never executed): 4xx, and no `data` entry.
                response_data.pop("data", None)
                response.body = self.encode_json(response_data)
                response.headers["content-length"] = str(len(response.body))
                response.status_code = 400
        return response


def _is_request_error(response_data: GraphQLHTTPResponse) -> bool:
    errors = response_data.get("errors") or []
    return bool(errors) and all(not error.get("path") for error in errors)


UNAUTHENTICATED_MESSAGE = "The access token is invalid, expired or revoked."


def _unauthenticated(request: Request) -> Response:
    """401 with a GraphQL error body: bad credentials are refused before execution, and the
    same answer is given whatever was wrong with them."""
    return _refused(
        request,
        401,
        UNAUTHENTICATED_MESSAGE,
        "UNAUTHENTICATED",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _refused(
    request: Request,
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """A request refused before execution, with a GraphQL error body."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    media_type = (
        GRAPHQL_RESPONSE_JSON
        if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "")
        else "application/json"
    )
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)
