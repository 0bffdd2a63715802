"""A GraphQL request's pre-flight: what is learned of it before its transaction opens, once.

The steps, in the order a request meets them:

1. `BodySizeLimit` (ASGI middleware, around the whole app): a body over the limit is refused
   with 413 before anything reads it.
2. `check`, which the view calls with the body it has read, before any database work:
   - the body's JSON is decoded, once (`DecodedBody`);
   - text no field can take (NUL, lone UTF-16 surrogates) refuses the request;
   - the document is parsed through the per-process cache (`parsed`) to tell whether its
     operation only reads: such a request runs in a REPEATABLE READ READ ONLY transaction, so
     every statement of it (a page and its `totalCount`, a list and the objects it points at)
     sees one snapshot.
3. While Strawberry handles the request (`handing_over`), its JSON hook (`decode_json`) returns
   the body `check` decoded instead of decoding it again, and its parse step is served from the
   same cache (`ParsedDocumentCache`).

A request `check` cannot make sense of (not JSON, no document, a syntax error) is not refused
here: it is left to Strawberry, which answers it like any other request error.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType, parse
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from core.text import unstorable_text

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


# ---- 1. The body's size ----------------------------------------------------------------------


class BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    """Pure ASGI middleware: refuses a body over `max_bytes` with 413, checking Content-Length
    up front and counting streamed bytes too."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not response_started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"The request body is larger than {self.max_bytes} bytes.",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE", "limit": self.max_bytes},
                    }
                ]
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# ---- 2. The check, with the body read --------------------------------------------------------

UNSTORABLE_TEXT_MESSAGE = (
    "The request holds a NUL character or a lone UTF-16 surrogate, which no field accepts."
)

# JSON can carry NUL and lone surrogates as escapes (`\\u0000`, `\\ud800`), PostgreSQL stores
# neither, and Python cannot even encode a lone surrogate: left alone, they would surface as
# errors deep in whichever resolver first touched them. Only a body holding such an escape is
# searched (the escape may be text itself, as in a description quoting `\\u0000`).
_SUSPECT_ESCAPE = re.compile(rb"\\u0000|\\u[dD][89abAB]|\\u[dD][c-fC-F]")
_NUL_IN_QUERY_STRING = b"%00"


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The body's JSON, or the error decoding it gave (raised when Strawberry asks for it).

    Decoded by `json.loads`, Strawberry's own decoder, so execution sees the values it always
    saw: orjson, for one, reads an integer beyond 64 bits as a float.
    """

    value: Any = None
    error: Exception | None = None

    @classmethod
    def of(cls, body: bytes) -> DecodedBody:
        try:
            return cls(value=json.loads(body))
        # What the decoder raises on a body it cannot read (RecursionError: nested too deep).
        except (ValueError, RecursionError) as error:
            return cls(error=error)

    def json(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """What the pre-flight learned of one HTTP request."""

    body: bytes
    # None when no step needed it (a GET request without a suspect body).
    decoded: DecodedBody | None
    holds_unstorable_text: bool
    reads_only: bool


def check(request: Request, body: bytes, *, max_tokens: int) -> CheckedRequest:
    """The pre-flight of a request whose body has been read: decode, refuse, classify."""
    suspect = _SUSPECT_ESCAPE.search(body) is not None
    decoded = DecodedBody.of(body) if suspect or request.method != "GET" else None
    if _NUL_IN_QUERY_STRING in request.scope["query_string"] or (
        suspect and decoded is not None and decoded.error is None and _unstorable(decoded.value)
    ):
        return CheckedRequest(body, decoded, holds_unstorable_text=True, reads_only=False)
    # A GET request's GraphQL parameters are in its query string (Strawberry ignores its body).
    if request.method == "GET":
        parameters: Any = request.query_params
    else:
        parameters = None if decoded is None or decoded.error is not None else decoded.value
    return CheckedRequest(
        body,
        decoded,
        holds_unstorable_text=False,
        reads_only=_only_queries(parameters, max_tokens),
    )


def reads_only(request: Request, body: bytes, *, max_tokens: int) -> bool:
    """`check`'s verdict on the transaction alone: True for a `query` operation; anything else,
    or anything unreadable, is not."""
    return check(request, body, max_tokens=max_tokens).reads_only


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return unstorable_text(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


def _only_queries(parameters: Any, max_tokens: int) -> bool:
    if not hasattr(parameters, "get"):
        return False
    query, name = parameters.get("query"), parameters.get("operationName")
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        return False
    document = parsed(query, max_tokens)
    if document is None:
        return False
    operation = get_operation_ast(document, name)
    return operation is not None and operation.operation is OperationType.QUERY


# ---- 3. Handing over to Strawberry -----------------------------------------------------------

_HANDED_OVER: ContextVar[CheckedRequest | None] = ContextVar("handed_over", default=None)


@contextlib.contextmanager
def handing_over(checked: CheckedRequest) -> Iterator[None]:
    """While Strawberry handles the request, `decode_json` serves its body from `checked`."""
    token = _HANDED_OVER.set(checked)
    try:
        yield
    finally:
        _HANDED_OVER.reset(token)


def decode_json(data: str | bytes) -> object:
    """The view's JSON decoder (Strawberry's `decode_json` hook): the request's body as `check`
    decoded it; anything else (a GET request's `variables`) with the same decoder."""
    checked = _HANDED_OVER.get()
    if checked is not None and checked.decoded is not None and data == checked.body:
        return checked.decoded.json()
    return json.loads(data)


# ---- The parse, shared by the check and Strawberry -------------------------------------------

CACHED_DOCUMENTS = 256


@lru_cache(maxsize=CACHED_DOCUMENTS)
def parsed(query: str, max_tokens: int | None) -> DocumentNode | None:
    """The document of `query`, parsed once per process; None if it does not parse."""
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None


class ParsedDocumentCache(SchemaExtension):
    """Strawberry's parse step served from `parsed`.

    Strawberry's own `ParserCache` raises parse errors from inside its hook, where they skip the
    error formatting every other request error gets: on a document that does not parse, this
    one leaves the document unset, so Strawberry parses it again and reports the error itself.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            document = parsed(context.query, context.parse_options.get("max_tokens"))
            if document is not None:
                context.graphql_document = document
        yield
