"""A GraphQL request's pre-flight: what is learned of it before its transaction opens, once.

The steps, in the order a request meets them:

1. `BodySizeLimit` (ASGI middleware, around the whole app): a body over the limit is refused
   with 413 before anything reads it.
2. `check`, which the view calls with the body it has read, before any database work:
   - the request's parameters are read: a POST body must be UTF-8 JSON (decoded once), an
     object, with the fields GraphQL-over-HTTP defines of their types; a GET request's
     `variables` are JSON. Anything else is malformed: `BAD_REQUEST`, HTTP 400;
   - text no field can take (NUL, lone UTF-16 surrogates) refuses the request, wherever it is:
     the URL, the JSON, the document's string literals (`BAD_USER_INPUT`);
   - a persisted query (`extensions.persistedQuery`, Apollo's automatic persisted queries) is
     read: version 1, a SHA-256 in hex, which a document sent with it must have
     (`PERSISTED_QUERY_HASH_MISMATCH`). A request naming a stored document by its hash only is
     given it by the view (`with_document`), which checks it as below;
   - the document is parsed and inspected through the per-process cache (`inspected`): the
     operation to run must be known (several operations and no `operationName` is a request
     error, `GRAPHQL_VALIDATION_FAILED`), every `filter` argument is counted against the
     filter limits before anything coerces it (`check_filter_limits`), and a `query`
     operation runs in a REPEATABLE READ READ ONLY transaction, so every statement of it (a
     page and its `totalCount`, a list and the objects it points at) sees one snapshot.
3. While Strawberry handles the request (`handing_over`), its JSON hook (`decode_json`) returns
   what `check` decoded instead of decoding it again, and its parse step is served from the
   same cache (`DocumentCache`).

A refused request gets its one error (`Refusal`) from the view, and nothing of it runs. A
document that does not parse is not refused here: Strawberry answers it like any other
request error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    Visitor,
    parse,
    visit,
)
from graphql.utilities import get_operation_ast, value_from_ast_untyped
from strawberry.extensions import SchemaExtension

from core.errors import BadUserInputError
from core.kept import KEPT_DOCUMENTS, KeptPer
from core.text import unstorable_text
from execution.graphql_internals import graphql_schema, validation_errors
from schema.issue_filters import FILTER_ARGUMENT, check_filter_limits

if TYPE_CHECKING:
    from collections.abc import Sequence

    from graphql import ASTValidationRule
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


# ---- 1. The body's size ----------------------------------------------------------------------


class HTTPMiddleware:
    """Pure ASGI middleware acting on HTTP requests (`handle`) only: WebSocket and lifespan
    messages pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyTooLargeError(Exception):
    pass


async def run_refusing(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, refused: type[Exception]
) -> bool:
    """Run the app; True if it raised `refused` (from a wrapped `receive`) before its response
    started, so the caller answers in its place. Raised later, the response is already going."""
    response_started = False

    async def tracking_send(message: Message) -> None:
        nonlocal response_started
        response_started = response_started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except refused:
        return not response_started
    return False


async def send_error(
    send: Send,
    status: int,
    message: str,
    extensions: dict[str, Any],
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    """A GraphQL error body sent straight over ASGI, by a middleware refusing a request."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit(HTTPMiddleware):
    """Refuses a body over `max_bytes` with 413, checking Content-Length up front and counting
    streamed bytes too."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError
            return message

        if await run_refusing(self.app, scope, counting_receive, send, BodyTooLargeError):
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(
            send,
            413,
            f"The request body is larger than {self.max_bytes} bytes.",
            {"code": "PAYLOAD_TOO_LARGE", "limit": self.max_bytes},
        )


# ---- 2. The check, with the body read --------------------------------------------------------

UNSTORABLE_TEXT_MESSAGE = (
    "The request holds a NUL character or a lone UTF-16 surrogate, which no field accepts."
)

# JSON can carry NUL and lone surrogates as escapes (`\\u0000`, `\\ud800`), PostgreSQL stores
# neither, and Python cannot even encode a lone surrogate: left alone, they would surface as
# errors deep in whichever resolver first touched them. Only a body holding such an escape is
# searched (the escape may be text itself, as in a description quoting `\\u0000`).
_SUSPECT_ESCAPE = re.compile(rb"\\u0000|\\u[dD][89abAB]|\\u[dD][c-fC-F]")
_JSON_PARAMETERS = ("variables", "extensions")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused before anything of it runs: its one GraphQL error."""

    message: str
    code: str
    extensions: Mapping[str, Any] = field(default_factory=dict)
    malformed: bool = False
    """True: not a GraphQL-over-HTTP request at all (its body or parameters cannot be read),
    HTTP 400 whatever the media type. False: a request error of a well-formed request, answered
    as a validation error is."""


def _malformed(message: str) -> Refusal:
    return Refusal(message, "BAD_REQUEST", malformed=True)


_UNSTORABLE = Refusal(UNSTORABLE_TEXT_MESSAGE, "BAD_USER_INPUT")


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


PERSISTED_QUERY_NOT_FOUND = Refusal("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
"""Apollo's answer to a hash it does not know: its clients then send the document too."""

PERSISTED_QUERY_HASH_MISMATCH = Refusal(
    "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH", malformed=True
)


@dataclass(frozen=True, slots=True)
class PersistedQuery:
    """The request's `extensions.persistedQuery` (automatic persisted queries, version 1)."""

    sha256: str
    """The document's SHA-256 in hex, lower-cased whatever case the client sent: the key its
    stored document is found by."""
    sent: bool
    """The request carries the document too (checked against the hash): to register."""


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """What the pre-flight learned of one HTTP request."""

    body: bytes
    decoded: Mapping[str | bytes, Any]
    """The JSON texts the check decoded (the body; a GET request's `variables` and
    `extensions`), by their text, each decoded by `json.loads`, Strawberry's own decoder, so
    execution sees the values it always saw (orjson, for one, reads an integer beyond 64 bits
    as a float)."""
    refusal: Refusal | None
    reads_only: bool
    parameters: Mapping[str, Any] = field(default_factory=dict)
    persisted: PersistedQuery | None = None
    document: str | None = None
    """A stored document the request named by its hash only (`with_document`): what
    Strawberry runs."""

    @property
    def awaits_document(self) -> bool:
        """The request names a stored document by its hash and has not been given it yet."""
        return self.persisted is not None and not self.persisted.sent and self.document is None

    @property
    def query(self) -> str | None:
        """The document to run: the request's own, or the stored one it named."""
        query = self.parameters.get("query")
        return query if isinstance(query, str) else self.document


def check(request: Request, body: bytes, *, max_tokens: int) -> CheckedRequest:
    """The pre-flight of a request whose body has been read, in this order: its parameters
    read (a POST body: UTF-8, JSON, an object; the fields GraphQL-over-HTTP defines, of their
    types), unstorable text refused (in the URL, the JSON, the document's string literals),
    then, if the document parses, its operation chosen (several and no `operationName`: a
    request error, as the spec wants), its filters counted against their limits, and the
    transaction chosen from the operation's kind."""
    decoded: dict[str | bytes, Any] = {}
    parameters: Mapping[str, Any] = {}
    try:
        parameters = _parameters(request, body, decoded)
        persisted = _persisted_query(parameters)
        reads = _check_document(parameters, max_tokens)
    except _Refused as refused:
        return CheckedRequest(body, decoded, refused.refusal, reads_only=False)
    return CheckedRequest(
        body, decoded, None, reads_only=reads, parameters=parameters, persisted=persisted
    )


def with_document(checked: CheckedRequest, document: str, *, max_tokens: int) -> CheckedRequest:
    """`checked`, a request that named a stored document by its hash, given that document: the
    document is checked as a sent one would have been, and its operation picks the
    transaction."""
    try:
        reads = _check_document({**checked.parameters, "query": document}, max_tokens)
    except _Refused as refused:
        return replace(checked, refusal=refused.refusal, reads_only=False, document=document)
    return replace(checked, reads_only=reads, document=document)


def document_sha256(document: str) -> str:
    """The hex SHA-256 of a document's UTF-8 text: its key among persisted operations."""
    return hashlib.sha256(document.encode()).hexdigest()


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def _persisted_query(parameters: Mapping[str, Any]) -> PersistedQuery | None:
    """The request's persisted query extension, checked: version 1, a SHA-256 in hex, which
    the document, if sent, must have."""
    extension = (parameters.get("extensions") or {}).get("persistedQuery")
    if extension is None:
        return None
    if not isinstance(extension, dict) or extension.get("version") != 1:
        raise _Refused(
            Refusal(
                "Unsupported persisted query version", "PERSISTED_QUERY_NOT_SUPPORTED", {}, True
            )
        )
    sha256 = extension.get("sha256Hash")
    if not isinstance(sha256, str) or _SHA256_HEX.fullmatch(sha256) is None:
        raise _Refused(
            _malformed("The persisted query's `sha256Hash` must be a SHA-256 in hexadecimal.")
        )
    sha256 = sha256.lower()
    query = parameters.get("query")
    if query is not None and document_sha256(query) != sha256:
        raise _Refused(PERSISTED_QUERY_HASH_MISMATCH)
    return PersistedQuery(sha256, sent=query is not None)


def reads_only(request: Request, body: bytes, *, max_tokens: int) -> bool:
    """`check`'s verdict on the transaction alone: True for a `query` operation; anything else,
    or anything unreadable, is not."""
    return check(request, body, max_tokens=max_tokens).reads_only


def _parameters(
    request: Request, body: bytes, decoded: dict[str | bytes, Any]
) -> Mapping[str, Any]:
    """The request's GraphQL parameters (`query`, `variables`, `operationName`,
    `extensions`), decoded and checked; what is decoded is kept in `decoded`."""
    url = request.query_params
    if any(_unstorable(text) for item in url.multi_items() for text in item):
        raise _Refused(_UNSTORABLE)
    if request.method == "GET":
        # A GET request's GraphQL parameters are in its query string (Strawberry ignores its
        # body); `variables` and `extensions` are JSON there.
        parameters: dict[str, Any] = dict(url)
        for name in _JSON_PARAMETERS:
            text = parameters.get(name)
            if text:
                parameters[name] = decoded[text] = _json(text)
                if _unstorable(parameters[name]):
                    raise _Refused(_UNSTORABLE)
    else:
        value = decoded[body] = _json(body)
        if _SUSPECT_ESCAPE.search(body) is not None and _unstorable(value):
            raise _Refused(_UNSTORABLE)
        if not isinstance(value, dict):
            batch = " (batched requests are not supported)" if isinstance(value, list) else ""
            raise _Refused(_malformed(f"The request body must be a JSON object{batch}."))
        parameters = value
    # As Strawberry checks them (it would fail on a type it does not check).
    for name, types, kind in (
        ("query", str, "a string"),
        ("operationName", str, "a string"),
        ("variables", dict, "an object"),
        ("extensions", dict, "an object"),
    ):
        if not isinstance(parameters.get(name), types | None):
            raise _Refused(
                _malformed(f"The GraphQL operation's `{name}` must be {kind} or null, if provided.")
            )
    return parameters


def _json(text: str | bytes) -> Any:
    """`text` decoded as JSON; refuses what is not UTF-8 JSON, or nested past what the
    decoder can follow."""
    if isinstance(text, bytes):
        try:
            text.decode()
        except UnicodeDecodeError:
            raise _Refused(_malformed("The request body is not UTF-8 text.")) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _Refused(_malformed("The request's JSON is nested too deeply.")) from None
    except ValueError:
        raise _Refused(_malformed("The request's JSON cannot be parsed.")) from None


def _unstorable(value: Any) -> bool:
    """Whether any text in `value` (JSON values, walked without recursion) breaks the text
    rule."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if unstorable_text(item) is not None:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _check_document(parameters: Mapping[str, Any], max_tokens: int) -> bool:
    """Checks the document (when it parses: Strawberry reports syntax errors); whether its
    operation only reads."""
    query, name = parameters.get("query"), parameters.get("operationName")
    document = None if query is None else inspected(query, max_tokens)
    if document is None:
        return False
    if document.holds_unstorable_text:
        raise _Refused(_UNSTORABLE)
    if document.expanded_fields > MAX_EXPANDED_FIELDS:
        raise _Refused(
            Refusal(
                f"With its fragments spread, the document selects {document.expanded_fields:,} "
                f"fields; at most {MAX_EXPANDED_FIELDS:,} are allowed.",
                "GRAPHQL_VALIDATION_FAILED",
            )
        )
    operation = get_operation_ast(document.document, name)
    if operation is None:
        raise _Refused(Refusal(_no_operation(document, name), "GRAPHQL_VALIDATION_FAILED"))
    if operation.operation is OperationType.SUBSCRIPTION:
        raise _Refused(SUBSCRIPTION_OVER_HTTP)
    filters = document.filters_of(operation)
    if filters:
        variables = _with_defaults(operation, parameters.get("variables") or {})
        for value in filters:
            try:
                check_filter_limits(value_from_ast_untyped(value, variables))
            except BadUserInputError as error:
                extensions = {k: v for k, v in error.extensions.items() if k != "code"}
                raise _Refused(Refusal(error.message, error.code, extensions)) from None
    return operation.operation is OperationType.QUERY


SUBSCRIPTION_OVER_HTTP = Refusal(
    "Subscriptions are served over a WebSocket at this same path (graphql-transport-ws, or the "
    "legacy graphql-ws); over HTTP, send queries and mutations.",
    "BAD_REQUEST",
)


def _no_operation(document: InspectedDocument, name: str | None) -> str:
    """Why no operation of `document` is the one to run (graphql-core's words)."""
    if name is not None:
        return f"Unknown operation named '{name}'."
    if document.operations > 1:
        return "Must provide operation name if query contains multiple operations."
    return "Must provide an operation."


def _with_defaults(operation: OperationDefinitionNode, variables: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    return {**defaults, **variables} if defaults else variables


# ---- 3. Handing over to Strawberry -----------------------------------------------------------

_HANDED_OVER: ContextVar[CheckedRequest | None] = ContextVar("handed_over", default=None)


@contextlib.contextmanager
def handing_over(checked: CheckedRequest) -> Iterator[None]:
    """While Strawberry handles the request, `decode_json` serves what `checked` decoded."""
    token = _HANDED_OVER.set(checked)
    try:
        yield
    finally:
        _HANDED_OVER.reset(token)


def handed_over_document() -> str | None:
    """The stored document the request handed over named by its hash, if any."""
    checked = _HANDED_OVER.get()
    return None if checked is None else checked.document


def decode_json(data: str | bytes) -> object:
    """The view's JSON decoder (Strawberry's `decode_json` hook): what `check` decoded (the
    body, a GET request's `variables`) served as it was decoded; anything else with the same
    decoder."""
    checked = _HANDED_OVER.get()
    if checked is not None and data in checked.decoded:
        return checked.decoded[data]
    return json.loads(data)


# ---- The parse, shared by the check and Strawberry -------------------------------------------

MAX_EXPANDED_FIELDS = 5_000
"""Far above any real document (GraphiQL's introspection query selects 220 fields
expanded, the list view 25), far below what takes validation a noticeable time."""


@lru_cache(maxsize=KEPT_DOCUMENTS)
def parsed(query: str, max_tokens: int | None) -> DocumentNode | None:
    """The document of `query`, parsed once per process; None if it does not parse."""
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None


@dataclass(frozen=True, slots=True)
class InspectedDocument:
    """What the check needs of a document that parses, learned once per document."""

    document: DocumentNode
    operations: int
    holds_unstorable_text: bool
    """A string literal breaks the text rule (`"a\\u0000"` in the document's own escapes)."""
    filters: tuple[tuple[ExecutableDefinitionNode, tuple[ValueNode, ...]], ...]
    """The values given to `filter` arguments, with the operation or fragment they are in."""
    expanded_fields: int
    """How many fields its largest operation selects with every fragment spread in place: a
    few hundred tokens of fragments spreading each other twice select 2^n fields, which
    validation and the cost walk would each take exponential time to go through."""

    def filters_of(self, operation: OperationDefinitionNode) -> list[ValueNode]:
        """The filters `operation` may run: its own and its fragments' (one it does not spread
        is a validation error anyway)."""
        return [
            value
            for definition, values in self.filters
            if definition is operation or isinstance(definition, FragmentDefinitionNode)
            for value in values
        ]


class _Literals(Visitor):
    """Finds the string literals that break the text rule and the `filter` arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.unstorable = False
        self.filters: list[ValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.unstorable = self.unstorable or unstorable_text(node.value) is not None

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        if node.name.value == FILTER_ARGUMENT:
            self.filters.append(node.value)


@lru_cache(maxsize=KEPT_DOCUMENTS)
def inspected(query: str, max_tokens: int | None) -> InspectedDocument | None:
    """The document of `query` with what the check needs of it; None if it does not parse."""
    document = parsed(query, max_tokens)
    if document is None:
        return None
    literals = _Literals()
    filters = []
    for definition in document.definitions:
        if isinstance(definition, ExecutableDefinitionNode):
            literals.filters = []
            visit(definition, literals)
            filters.append((definition, tuple(literals.filters)))
    return InspectedDocument(
        document,
        operations=sum(isinstance(d, OperationDefinitionNode) for d in document.definitions),
        holds_unstorable_text=literals.unstorable,
        filters=tuple(filters),
        expanded_fields=_expanded_fields(document),
    )


def _expanded_fields(document: DocumentNode) -> int:
    """The fields of the document's largest operation with its fragments spread in place,
    counted with each fragment's size computed once (a spread of a fragment being counted,
    a cycle validation refuses, counts nothing)."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}

    def size(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set is not None else ():
            if isinstance(selection, FieldNode):
                total += 1 + size(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += size(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in sizes and name in fragments:
                    sizes[name] = 0  # while it is being counted
                    sizes[name] = size(fragments[name].selection_set)
                total += sizes.get(name, 0)
        return total

    return max(
        (
            size(definition.selection_set)
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        ),
        default=0,
    )


class DocumentCache(SchemaExtension):
    """Strawberry's parse and validation steps, each run once per document text and process;
    with the parse's token limit and the extra validation rules (what Strawberry's
    `MaxTokensLimiter` and `AddValidationRules` do, here in one extension: each one costs every
    request a look for its hooks in every step).

    The parse is served from `parsed`. Strawberry's own `ParserCache` raises parse errors from
    inside its hook, where they skip the error formatting every other request error gets: on a
    document that does not parse, this one leaves the document unset, so Strawberry parses it
    again and reports the error itself.

    Validation is looked up by the parsed document's identity, which names its text. Strawberry's
    own `ValidationCache` looks its LRU up by the document's hash, which graphql-core computes
    by walking the whole tree, on every request: 4% of the detail view's instructions.
    """

    def __init__(
        self, *, max_tokens: int | None = None, rules: Sequence[type[ASTValidationRule]] = ()
    ) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if self.max_tokens is not None:
            context.parse_options["max_tokens"] = self.max_tokens
        if self.rules:
            context.validation_rules = (*context.validation_rules, *self.rules)
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            document = parsed(context.query, context.parse_options.get("max_tokens"))
            if document is not None:
                context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            schema = graphql_schema(context.schema)
            # The rules too: a viewer who may not explore the schema is validated with one more.
            rules = tuple(context.validation_rules)
            errors = _VALIDATED.get(schema, document, *rules)
            if errors is None:
                errors = _VALIDATED.keep(
                    validation_errors(schema, document, rules), schema, document, *rules
                )
            context.pre_execution_errors = errors
        yield


# Per schema, parsed document and rules: the errors found.
_VALIDATED: KeptPer[list[GraphQLError]] = KeptPer(most=KEPT_DOCUMENTS)
