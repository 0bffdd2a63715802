"""The `/graphql` endpoint: Strawberry's Starlette view with Backlog's context and responses.

An HTTP request first goes through the pre-flight (`server/preflight.py`: its body decoded once,
malformed requests and unstorable text refused, the transaction chosen), then gets one database
handle, one set of loaders and one viewer; the handle is released in a `finally`, whatever
happened. Responses follow the GraphQL-over-HTTP spec: a client that accepts
`application/graphql-response+json` gets it, with 4xx for request errors; a malformed request
is a 400 `BAD_REQUEST` in every media type. A refused request is logged as one line
(`backlog.requests`, INFO), never with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET

from auth.identity import viewer_by_email, viewer_for_bearer
from auth.tokens import InvalidTokenError
from auth.viewer import Viewer
from core.errors import RateLimitedError
from db.persisted_operations import PersistedOperations
from db.session import UNAVAILABLE_MESSAGE, DatabaseUnavailableError, StatementTimeoutError
from resolvers.context import Context
from server import preflight
from server.errors import RETRY_AFTER_S, SERVICE_UNAVAILABLE
from server.graphiql import graphiql_page
from server.rate_limit import refusal
from server.settings import TrustedDocuments
from server.signing_key import access_token_issuer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cross_web import AsyncHTTPRequestAdapter
    from starlette.websockets import WebSocket
    from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData

    from auth.tokens import AccessTokenIssuer
    from core.limits import RateLimitStatus
    from db.session import Database, RequestDatabase
    from server.rate_limit import RateLimiter, Verdict
    from server.settings import Settings

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

logger = logging.getLogger("backlog.database")
refusals = logging.getLogger("backlog.requests")


class BacklogResponse(Response):
    """Carries what the response needs to know about its request (set in get_sub_response)."""

    accepts_graphql_response = False
    database: RequestDatabase | None = None


class GraphQLEndpoint(GraphQL[Context, None]):
    def __init__(self, schema: Any, settings: Settings, limiter: RateLimiter) -> None:
        super().__init__(schema, subscription_protocols=(), allow_queries_via_get=True)
        self.settings = settings
        self.limiter = limiter
        self.access_tokens = access_token_issuer(settings)
        self.persisted_operations = PersistedOperations()
        self._closing: set[asyncio.Task[None]] = set()

    async def run(
        self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET
    ) -> Any:
        if not isinstance(request, Request) or self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            return await super().run(request, context=context, root_value=root_value)
        # The pre-flight, before any database work: the body is read (and size-checked),
        # decoded once, and the operation's kind picks the transaction. A request it refuses
        # (malformed, unstorable text, no operation to run, a filter past its limits) ends here.
        body = await request.body()
        checked = preflight.check(request, body, max_tokens=self.settings.max_tokens)
        if checked.refusal is not None:
            return _refused_request(request, checked.refusal)
        database: Database = request.app.state.database
        if checked.persisted is not None or self._trusted_only(request):
            # Before the request's handle opens: a document named by its hash decides the
            # transaction once it is found.
            try:
                resolved = await self._persisted(request, checked, database)
            except DatabaseUnavailableError:
                return _unavailable(request)
            if isinstance(resolved, Response):
                return resolved
            checked = resolved
            if checked.refusal is not None:
                return _refused_request(request, checked.refusal)
        db = database.request_handle(snapshot=checked.reads_only)
        request.state.request_database = db  # for `get_sub_response`
        stopped = False
        try:
            try:
                context = await self.build_context(request, db)
            except InvalidTokenError:
                return _unauthenticated(request)
            except DatabaseUnavailableError:
                return _unavailable(request)
            if self.limiter.enabled:
                # Before the document is parsed: a caller whose budget is spent costs no more.
                try:
                    admitted = await self.limiter.charge(
                        [self.limiter.admission(context.viewer, context.client_address)]
                    )
                except (DatabaseUnavailableError, StatementTimeoutError):
                    return _unavailable(request)
                except Exception:
                    # A fault of ours: logged once with its traceback; the client may retry.
                    logger.exception("rate limit admission failed (%s)", request.url.path)
                    return _unavailable(request)
                context.rate_limit = admitted.status
                if not admitted.allowed:
                    return _over_budget(request, admitted)
            with preflight.handing_over(checked):
                try:
                    if not checked.reads_only:
                        # A mutation is bounded statement by statement; stopping one between a
                        # commit and its answer would hide what it did.
                        response = await super().run(request, context, root_value)
                    else:
                        async with asyncio.timeout(self.settings.query_deadline_s):
                            response = await super().run(request, context, root_value)
                except TimeoutError:
                    stopped = True
                    response = _past_deadline(request, self.settings.query_deadline_s)
                except HTTPException as error:
                    # Strawberry's own refusals (a content type it does not read, a mutation
                    # over GET, no document): typed and logged like the pre-flight's.
                    refusal = preflight.Refusal(error.reason, "BAD_REQUEST", malformed=True)
                    response = _refused_request(request, refusal, status=error.status_code)
            if context.rate_limit is not None:
                response.headers.update(rate_limit_headers(context.rate_limit))
            return response
        finally:
            if stopped:
                # Its statement is being cancelled, and the connection closes once PostgreSQL
                # answers (it is never pooled again): the client is not kept waiting for that.
                closing = asyncio.create_task(db.close())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            else:
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

    def _trusted_only(self, request: Request) -> bool:
        """Whether the caller may run only trusted documents. Known before authenticating: a
        request without credentials is anonymous (except in development), and one with bad
        credentials is refused anyway."""
        mode = self.settings.trusted_documents
        if mode is TrustedDocuments.ANONYMOUS:
            return "authorization" not in request.headers and not self.settings.is_development
        return mode is TrustedDocuments.EVERYONE

    async def _persisted(
        self, request: Request, checked: preflight.CheckedRequest, database: Database
    ) -> preflight.CheckedRequest | Response:
        """Persisted operations: the document a request names by its hash found (or
        `PersistedQueryNotFound`), a sent one registered, and, for a caller restricted to
        trusted documents, anything else refused."""
        trusted_only = self._trusted_only(request)
        query = checked.query
        if checked.persisted is not None:
            sha256 = checked.persisted.sha256
        elif query is not None:
            sha256 = preflight.document_sha256(query)
        else:
            return checked  # no document at all: Strawberry answers
        stored = await self.persisted_operations.find(database, sha256, trusted_only=trusted_only)
        if trusted_only and (stored is None or not stored.trusted):
            return _refused_request(request, PERSISTED_QUERY_REQUIRED, status=403)
        if checked.awaits_document:
            if stored is None:
                return _refused_request(request, preflight.PERSISTED_QUERY_NOT_FOUND)
            return preflight.with_document(
                checked, stored.document, max_tokens=self.settings.max_tokens
            )
        if checked.persisted is not None and stored is None and query is not None:
            await self.persisted_operations.register(database, sha256, query)
        return checked

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a persisted query by its hash carries no `query`, but is no page view.
        return super().should_render_graphql_ide(request) and (
            request.query_params.get("extensions") is None
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        document = preflight.handed_over_document()
        if document is not None and not isinstance(data, list) and data.query is None:
            data.query = document  # the stored document the request named by its hash
        return data

    async def build_context(self, request: Request, db: RequestDatabase) -> Context:
        viewer = await self.authenticate(request, db)
        return Context.for_request(request, db, viewer, self.settings, self.access_tokens)

    async def authenticate(self, request: Request, db: RequestDatabase) -> Viewer:
        return await viewer_of(
            db, request.headers.get("authorization"), self.settings, self.access_tokens
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page(graphql_path=request.url.path)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = BacklogResponse()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        accept = request.headers.get("accept", "")
        sub_response.accepts_graphql_response = GRAPHQL_RESPONSE_JSON in accept
        sub_response.database = getattr(request.state, "request_database", None)
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
        # Retryable as a whole only if nothing of it took effect: after a committed mutation, the
        # lost field's error says what failed, and the request is answered as any other.
        database = sub_response.database if isinstance(sub_response, BacklogResponse) else None
        committed = database is not None and database.committed
        unavailable = _is_unavailable(response_data) and not committed
        if unavailable:
            # The database failed under the request: retryable, whatever the media type.
            response.status_code = 503
            response.headers["retry-after"] = str(RETRY_AFTER_S)
        retry_after = _rate_limited(response_data)
        if retry_after is not None:
            response.status_code = 429
            response.headers["retry-after"] = str(retry_after)
        if getattr(sub_response, "accepts_graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON + "; charset=utf-8"
            if (
                not unavailable
                and retry_after is None
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


def _rate_limited(response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> int | None:
    """Seconds to wait, if the request was refused for its rate limit."""
    if isinstance(response_data, dict):
        for error in response_data.get("errors") or []:
            extensions = (error.get("extensions") or {}) if isinstance(error, dict) else {}
            if extensions.get("code") == RateLimitedError.code:
                return int(extensions["retryAfter"])
    return None


def rate_limit_headers(status: RateLimitStatus) -> dict[str, str]:
    """The caller's budget, as the IETF RateLimit header fields draft names it."""
    reset_s = max(0, math.ceil((status.reset_at - datetime.now(UTC)).total_seconds()))
    return {
        "ratelimit-limit": str(status.limit),
        "ratelimit-remaining": str(status.remaining),
        "ratelimit-reset": str(reset_s),
    }


def _is_request_error(response_data: GraphQLHTTPResponse) -> bool:
    errors = response_data.get("errors") or []
    return bool(errors) and all(
        isinstance(error, dict) and not error.get("path") for error in errors
    )


PERSISTED_QUERY_REQUIRED = preflight.Refusal(
    "Only trusted documents may run here: send a trusted document's hash "
    "(extensions.persistedQuery.sha256Hash).",
    "PERSISTED_QUERY_REQUIRED",
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


def _past_deadline(request: Request, deadline_s: float) -> Response:
    """A query stopped at its deadline: its statement is cancelled and its connection released
    (`db.session` discards a connection whose statement was cancelled)."""
    logger.warning("query stopped at its %s s deadline (%s)", deadline_s, request.url.path)
    return _refused(
        request,
        503,
        f"The query took longer than {deadline_s:g} s and was stopped; ask for less.",
        "TIMEOUT",
    )


def _over_budget(request: Request, verdict: Verdict) -> Response:
    """429 before the document is read: the caller's budget cannot pay even for admission."""
    error = refusal(verdict, verdict.status)
    refusals.info("%s %s refused with 429 RATE_LIMITED", request.method, request.url.path)
    return _refused(
        request,
        429,
        error.message,
        error.code,
        error.extensions,
        headers={
            "Retry-After": str(verdict.retry_after_s),
            **rate_limit_headers(verdict.status),
        },
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


def _refused_request(
    request: Request, refusal: preflight.Refusal, *, status: int | None = None
) -> Response:
    """A request refused before anything of it ran, logged as one line without a traceback.

    Its status: a malformed request is a 400 in every media type; a request error of a
    well-formed one is answered as validation errors are (`create_response`): 400 where the
    client takes the GraphQL-over-HTTP media type, 200 for plain JSON.
    """
    if status is None:
        accepts_graphql_response = GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "")
        status = 400 if refusal.malformed or accepts_graphql_response else 200
    refusals.info(
        "%s %s refused with %d %s: %.200r",
        request.method,
        request.url.path,
        status,
        refusal.code,
        refusal.message,
    )
    return _refused(request, status, refusal.message, refusal.code, refusal.extensions)


def _refused(
    request: Request,
    status: int,
    message: str,
    code: str,
    extensions: Mapping[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A request refused before execution, with a GraphQL error body."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}
    media_type = (
        GRAPHQL_RESPONSE_JSON
        if GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "")
        else "application/json"
    )
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


async def viewer_of(
    db: RequestDatabase,
    authorization: str | None,
    settings: Settings,
    access_tokens: AccessTokenIssuer,
) -> Viewer:
    """The viewer of an `Authorization` value (a request's header, a WebSocket's
    `connection_init`). None is anonymous (in development: the demo user); bad credentials raise
    InvalidTokenError, never fall back."""
    if authorization is None:
        if settings.is_development:
            return await viewer_by_email(db, settings.demo_viewer_email)
        return Viewer.anonymous()
    return await viewer_for_bearer(db, bearer_token(authorization), access_tokens)


def bearer_token(authorization: str) -> str:
    """The credential of `Bearer <credential>`; InvalidTokenError for anything else."""
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise InvalidTokenError("not a Bearer credential")
    return credential.strip()
