"""The `/graphql` endpoint: Strawberry's Starlette view with Backlog's context and responses.

An HTTP request first goes through the pre-flight (`server/preflight.py`: its body decoded once,
unstorable text refused, the transaction chosen), then gets one database handle, one set of
loaders and one viewer; the handle is released in a `finally`, whatever happened. Responses
follow the GraphQL-over-HTTP spec: a client that accepts `application/graphql-response+json`
gets it, with 4xx for request errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET

from auth.identity import viewer_by_email, viewer_for_bearer
from auth.tokens import InvalidTokenError
from auth.viewer import Viewer
from db.session import UNAVAILABLE_MESSAGE, DatabaseUnavailableError
from resolvers.context import Context
from server import preflight
from server.errors import RETRY_AFTER_S, SERVICE_UNAVAILABLE
from server.graphiql import graphiql_page
from server.signing_key import access_token_issuer

if TYPE_CHECKING:
    from starlette.websockets import WebSocket
    from strawberry.http import GraphQLHTTPResponse

    from db.session import Database, RequestDatabase
    from server.settings import Settings

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

logger = logging.getLogger("backlog.database")


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
        if not isinstance(request, Request) or self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            return await super().run(request, context=context, root_value=root_value)
        # The pre-flight, before any database work: the body is read (and size-checked),
        # decoded once, and the operation's kind picks the transaction.
        body = await request.body()
        checked = preflight.check(request, body, max_tokens=self.settings.max_tokens)
        if checked.holds_unstorable_text:
            # A request error (the document never runs): 400 where the client takes the
            # GraphQL-over-HTTP media type, 200 for plain JSON, as for validation errors.
            status = 400 if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "") else 200
            return _refused(request, status, preflight.UNSTORABLE_TEXT_MESSAGE, "BAD_USER_INPUT")
        database: Database = request.app.state.database
        db = database.request_handle(snapshot=checked.reads_only)
        try:
            try:
                context = await self.build_context(request, db)
            except InvalidTokenError:
                return _unauthenticated(request)
            except DatabaseUnavailableError:
                return _unavailable(request)
            with preflight.handing_over(checked):
                return await super().run(request, context=context, root_value=root_value)
        finally:
            await db.close()
            if db.failure is not None:
                # One line per request, however many of its fields failed; no traceback.
                reason = " ".join(f"{type(db.failure).__name__}: {db.failure}".split())
                logger.warning(
                    "database connection failed (%s %s): %s",
                    request.method,
                    request.url.path,
                    reason,
                )

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

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = BacklogResponse()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        accept = request.headers.get("accept", "")
        sub_response.accepts_graphql_response = GRAPHQL_RESPONSE_JSON in accept
        return sub_response

    def decode_json(self, data: str | bytes) -> object:
        return preflight.decode_json(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        unavailable = _is_unavailable(response_data)
        if unavailable:
            # The database failed under the request: retryable, whatever the media type.
            response.status_code = 503
            response.headers["retry-after"] = str(RETRY_AFTER_S)
        if getattr(sub_response, "accepts_graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON + "; charset=utf-8"
            if (
                not unavailable
                and isinstance(response_data, dict)
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


def _is_unavailable(response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> bool:
    responses = response_data if isinstance(response_data, list) else [response_data]
    return any(
        isinstance(error, dict)
        and (error.get("extensions") or {}).get("code") == SERVICE_UNAVAILABLE
        for response in responses
        for error in response.get("errors") or []
    )


def _is_request_error(response_data: GraphQLHTTPResponse) -> bool:
    errors = response_data.get("errors") or []
    return bool(errors) and all(
        isinstance(error, dict) and not error.get("path") for error in errors
    )


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


def _unavailable(request: Request) -> Response:
    """503 when the database fails before execution (while authenticating the request)."""
    return _refused(
        request,
        503,
        UNAVAILABLE_MESSAGE,
        SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
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
