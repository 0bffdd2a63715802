"""Bad input is a 4xx, never a 500: each malformed or abusive request gets one typed error,
changes nothing, runs no SQL, and writes at most one log line, without a traceback.

A malformed request (not a GraphQL-over-HTTP request at all) is a 400 `BAD_REQUEST` whatever
the media type; a request error of a well-formed request is answered as validation errors are:
400 for `application/graphql-response+json`, 200 for `application/json`, with no `data`.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLInputObjectType, get_named_type

from execution.graphql_internals import graphql_schema
from schema.build import build_schema
from schema.issue_filters import FILTER_ARGUMENT, FILTER_OBJECT_FIELDS, MAX_FILTER_CONDITIONS
from server.errors import LOGGED_IDS, ClientErrors
from tests.support.graphql import error_codes, without_cost

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
MEDIA_TYPES = [GRAPHQL_RESPONSE_JSON, "application/json"]
REQUEST_ERROR_STATUS = {GRAPHQL_RESPONSE_JSON: 400, "application/json": 200}

ISSUES = """query Issues($filter: IssueFilter) {
  workspace(slug: "acme") { issues(filter: $filter, first: 1) { totalCount } }
}"""


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record the server writes (the test client's own `httpx` lines left out)."""
    caplog.set_level(logging.DEBUG)
    yield caplog


def server_records(log: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in log.records if not r.name.startswith(("httpx", "httpcore"))]


def assert_refused(
    response: httpx.Response,
    statements: Any,
    log: pytest.LogCaptureFixture,
    *,
    status: int,
    code: str,
    message: str,
) -> dict[str, Any]:
    """One typed error and no `data`; no SQL at all (refused before the request's transaction
    opens); at most one log record, without a traceback. Returns the error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    assert message in error["message"], error
    assert statements.statements == []
    records = server_records(log)
    assert len(records) <= 1, [r.getMessage() for r in records]
    assert not [r for r in records if r.exc_info or r.levelno >= logging.WARNING]
    result: dict[str, Any] = error
    return result


async def post(client: httpx.AsyncClient, content: bytes, accept: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        content=content,
        headers={"content-type": "application/json", "accept": accept},
    )


# ---- Malformed bodies: 400 BAD_REQUEST in every media type ------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"null", "must be a JSON object"),
        (b'"x"', "must be a JSON object"),
        (b"123", "must be a JSON object"),
        (b'[{"query": "{ viewer { id } }"}]', "batched requests are not supported"),
    ],
    ids=["null", "string", "number", "array"],
)
@pytest.mark.parametrize("accept", MEDIA_TYPES)
async def test_a_json_body_that_is_not_an_object_is_400(
    client, statements, log, content, message, accept
):
    response = await post(client, content, accept)

    assert_refused(response, statements, log, status=400, code="BAD_REQUEST", message=message)
    assert response.headers["content-type"].startswith(accept)


@pytest.mark.parametrize(
    "content",
    [
        b'{"query": "{ viewer { id } }", "x": "\xff\xfe"}',
        # A UTF-16 surrogate encoded as UTF-8 (CESU-8): Python's JSON decoder would take it.
        b'{"query": "{ workspace(slug: \\"\xed\xa0\x80\\") { id } }"}',
    ],
    ids=["invalid-byte", "encoded-surrogate"],
)
@pytest.mark.parametrize("accept", MEDIA_TYPES)
async def test_a_body_that_is_not_utf8_is_400(client, statements, log, content, accept):
    response = await post(client, content, accept)

    assert_refused(response, statements, log, status=400, code="BAD_REQUEST", message="not UTF-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 500 + b"]" * 500, "must be a JSON object"),
        (b'{"variables": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "nested too deeply"),
        (b'{"query": "{ viewer { id } }", "a": ' + b'{"a":' * 15_000 + b"}" * 15_001, "deeply"),
    ],
    ids=["500-deep", "20000-deep", "15000-deep-objects"],
)
async def test_deeply_nested_json_is_400(client, statements, log, content, message):
    response = await post(client, content, GRAPHQL_RESPONSE_JSON)

    assert_refused(response, statements, log, status=400, code="BAD_REQUEST", message=message)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"query": 5}, "`query` must be a string"),
        ({"query": "{ viewer { id } }", "operationName": 5}, "`operationName` must be a string"),
        ({"query": "{ viewer { id } }", "variables": [1]}, "`variables` must be an object"),
        ({"query": "{ viewer { id } }", "extensions": "x"}, "`extensions` must be an object"),
    ],
    ids=["query", "operation-name", "variables", "extensions"],
)
async def test_a_parameter_of_the_wrong_type_is_400(client, statements, log, payload, message):
    response = await post(client, json.dumps(payload).encode(), "application/json")

    assert_refused(response, statements, log, status=400, code="BAD_REQUEST", message=message)


async def test_a_malformed_get_variables_parameter_is_400(client, statements, log):
    response = await client.get(
        "/graphql", params={"query": "{ viewer { id } }", "variables": "[" * 20_000}
    )

    assert_refused(response, statements, log, status=400, code="BAD_REQUEST", message="JSON")


async def test_strawberrys_own_refusals_are_typed_too(client, log):
    response = await client.post(
        "/graphql", content=b'{"query": "{ viewer { id } }"}', headers={"content-type": "text/x"}
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error == {
        "message": "Unsupported content type",
        "extensions": {"code": "BAD_REQUEST"},
    }
    assert len(server_records(log)) == 1
    assert not server_records(log)[0].exc_info


# ---- NUL anywhere: the one text rule -----------------------------------------------------------

# The escapes are the document's own (GraphQL's `\u0000` and `\u{0}`), not JSON's.
NUL_IN_DOCUMENTS = {
    "workspace": r'{ workspace(slug: "a\u0000") { id } }',
    "braced-escape": r'{ workspace(slug: "a\u{0}") { id } }',
    "logIn": r'mutation { logIn(input: {email: "a\u0000@b.c", password: "x"}) { accessToken } }',
    "signUp": (
        r'mutation { signUp(input: {email: "a@b.c", password: "long enough password", '
        r'name: "\u0000"}) { accessToken } }'
    ),
    "variable-default": r'query($s: String = "\u0000") { workspace(slug: $s) { id } }',
    "filter": (
        r'{ workspace(slug: "acme") { issues(filter: {title: {contains: "\u0000"}}) '
        "{ totalCount } } }"
    ),
}


@pytest.fixture
async def anonymous(make_client) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(BACKLOG_ENV="production") as client:
        yield client


@pytest.mark.parametrize("document", NUL_IN_DOCUMENTS.values(), ids=NUL_IN_DOCUMENTS.keys())
@pytest.mark.parametrize("accept", MEDIA_TYPES)
async def test_a_nul_escaped_in_the_documents_strings_is_refused(
    anonymous, statements, log, document, accept
):
    response = await post(anonymous, json.dumps({"query": document}).encode(), accept)

    assert_refused(
        response,
        statements,
        log,
        status=REQUEST_ERROR_STATUS[accept],
        code="BAD_USER_INPUT",
        message="NUL character",
    )


async def test_a_nul_escaped_in_get_variables_is_refused(anonymous, statements, log):
    response = await anonymous.get(
        "/graphql",
        params={
            "query": "query($s: String!) { workspace(slug: $s) { id } }",
            "variables": '{"s": "a\\u0000"}',
        },
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )

    assert_refused(
        response, statements, log, status=400, code="BAD_USER_INPUT", message="NUL character"
    )


async def test_a_nul_escaped_in_a_get_documents_strings_is_refused(anonymous, statements, log):
    response = await anonymous.get(
        "/graphql", params={"query": r'{ workspace(slug: "a\u0000") { id } }'}
    )

    assert_refused(
        response, statements, log, status=200, code="BAD_USER_INPUT", message="NUL character"
    )


async def test_an_escape_quoted_as_text_in_a_document_is_text(client):
    # `\\u0000` in the document is a backslash and "u0000": storable text.
    response = await client.post(
        "/graphql", json={"query": r'{ workspace(slug: "a\\u0000") { id } }'}
    )

    assert without_cost(response) == {"data": {"workspace": None}}


# ---- Several operations: the one to run must be named ------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"query": "query A { viewer { id } } query B { viewer { email } }"},
            "Must provide operation name if query contains multiple operations.",
        ),
        (
            {"query": "query A { viewer { id } }", "operationName": "B"},
            "Unknown operation named 'B'.",
        ),
        ({"query": "fragment F on Query { viewer { id } }"}, "Must provide an operation."),
    ],
    ids=["two-without-a-name", "unknown-name", "none"],
)
@pytest.mark.parametrize("accept", MEDIA_TYPES)
async def test_the_operation_to_run_must_be_known(
    client, statements, log, payload, message, accept
):
    response = await post(client, json.dumps(payload).encode(), accept)

    assert_refused(
        response,
        statements,
        log,
        status=REQUEST_ERROR_STATUS[accept],
        code="GRAPHQL_VALIDATION_FAILED",
        message=message,
    )


async def test_the_named_one_of_several_operations_runs(client):
    query = "query A { viewer { id } } query B { viewer { email } }"

    response = await client.post("/graphql", json={"query": query, "operationName": "B"})

    assert without_cost(response) == {"data": {"viewer": {"email": "demo@backlog.dev"}}}


# ---- Wide filters: refused by a count, before anything coerces them --------------------------


def wide(conditions: int) -> dict[str, Any]:
    return {"or": [{"priority": {"eq": "HIGH"}}] * (conditions // 2)}


@pytest.mark.parametrize(
    "filter",
    [
        wide(3_000),
        {"or": [{}] * 20_000},
        {f"x{n}": {} for n in range(7_000)},
        {"labels": {f"x{n}": {} for n in range(7_000)}},
    ],
    ids=["3000-conditions", "20000-empty-filters", "7000-unknown-fields", "7000-unknown-inner"],
)
@pytest.mark.parametrize("accept", MEDIA_TYPES)
async def test_a_wide_filter_is_refused_before_any_work(client, statements, log, filter, accept):
    content = json.dumps({"query": ISSUES, "variables": {"filter": filter}}).encode()
    # What the app spends on it, apart from the client building and reading the request, and
    # apart from a full collection of the whole suite's heap (a second of CPU), which falls due
    # wherever the tests before this one left the collector's counts.
    gc.collect()
    started = time.process_time()

    response = await post(client, content, accept)

    spent = time.process_time() - started
    error = assert_refused(
        response,
        statements,
        log,
        status=REQUEST_ERROR_STATUS[accept],
        code="BAD_USER_INPUT",
        message=f"more than {MAX_FILTER_CONDITIONS} conditions",
    )
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "argument": "filter",
        "limit": MAX_FILTER_CONDITIONS,
    }
    assert spent < 0.2, f"{spent:.3f} s of CPU"


async def test_a_wide_filter_written_in_the_document_is_refused_the_same_way(
    client, statements, log
):
    conditions = ", ".join(f"{{number: {{eq: {n}}}}}" for n in range(MAX_FILTER_CONDITIONS))
    query = (
        f'{{ workspace(slug: "acme") {{ issues(filter: {{or: [{conditions}]}}) '
        "{ totalCount } } }"
    )

    response = await post(client, json.dumps({"query": query}).encode(), GRAPHQL_RESPONSE_JSON)

    assert_refused(
        response, statements, log, status=400, code="BAD_USER_INPUT", message="conditions"
    )


async def test_a_filter_at_the_limit_runs(client):
    response = await client.post(
        "/graphql",
        json={"query": ISSUES, "variables": {"filter": wide(MAX_FILTER_CONDITIONS)}},
    )

    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["workspace"]["issues"]["totalCount"] > 0


def test_the_count_knows_the_filter_inputs():
    """The pre-flight counts every argument named `filter` as an `IssueFilter`, and knows
    which of the filter inputs' fields hold objects of conditions."""
    schema = graphql_schema(build_schema())
    found = {
        get_named_type(argument.type).name
        for graphql_type in schema.type_map.values()
        for field in getattr(graphql_type, "fields", {}).values()
        for name, argument in getattr(field, "args", {}).items()
        if name == FILTER_ARGUMENT
    }
    assert found == {"IssueFilter"}

    objects, pending, seen = set(), [schema.type_map["IssueFilter"]], set()
    while pending:
        input_type = pending.pop()
        seen.add(input_type.name)
        for name, field in input_type.fields.items():
            inner = get_named_type(field.type)
            if isinstance(inner, GraphQLInputObjectType) and inner.name != "IssueFilter":
                objects.add(name)
                if inner.name not in seen:
                    pending.append(inner)
    assert objects - {"some", "none", "every"} == FILTER_OBJECT_FIELDS


# ---- One request, a few log lines at most ------------------------------------------------------


@strawberry.type
class Broken:
    @strawberry.field
    def value(self) -> str | None:
        raise RuntimeError("boom")


@strawberry.type
class ManyFailuresQuery:
    @strawberry.field
    def rows(self) -> list[Broken]:
        return [Broken() for _ in range(1_000)]


async def test_a_thousand_unexpected_errors_write_one_log_record(log):
    schema = strawberry.Schema(query=ManyFailuresQuery, extensions=[ClientErrors])

    result = await schema.execute("{ rows { value } }")

    ids = [error.formatted["extensions"]["errorId"] for error in result.errors or []]
    assert len(ids) == len(set(ids)) == 1_000
    [record] = [r for r in log.records if r.name == "backlog.errors"]
    message = record.getMessage()
    assert ids[0] in message and "999 more" in message
    assert all(error_id in message for error_id in ids[1 : 1 + LOGGED_IDS])
    assert ids[1 + LOGGED_IDS] not in message
    assert record.exc_info is not None  # the first one's traceback: a server error, not a client's


async def test_fragments_spreading_each_other_twice_are_refused_before_validation(client):
    # 2^60 fields once spread in place, in 60 short fragments: validation and the cost walk
    # would each take exponential time.
    chain = " ".join(f"fragment F{n} on Query {{ ...F{n + 1} ...F{n + 1} }}" for n in range(60))
    document = f"query {{ ...F0 }} {chain} fragment F60 on Query {{ __typename }}"
    started = time.monotonic()
    response = await client.post("/graphql", json={"query": document})

    assert time.monotonic() - started < 2
    assert error_codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "at most 5,000" in response.json()["errors"][0]["message"]
