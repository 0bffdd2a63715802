"""GraphQL over HTTP: status codes, media types, GET, GraphiQL, health checks and error masking."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strawberry

from core.errors import BadUserInputError
from server.errors import UNEXPECTED, ClientErrors
from tests.support.graphql import without_cost

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

SYNTAX_ERROR = "{ viewer { name }"
UNKNOWN_FIELD = "{ viewer { nickname } }"
FIELD_ERROR = '{ workspace(slug: "acme") { issues(first: 101) { totalCount } } }'


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_query_executes_and_answers_json(client, method):
    query = "{ viewer { name email } }"

    if method == "GET":
        response = await client.get("/graphql", params={"query": query})
    else:
        response = await client.post("/graphql", json={"query": query})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "errors" not in body
    assert isinstance(body["data"]["viewer"]["name"], str)
    assert body["data"]["viewer"]["email"] == "demo@backlog.dev"


async def test_post_accepting_graphql_response_json_gets_it(client):
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { email } }"},
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert without_cost(response) == {"data": {"viewer": {"email": "demo@backlog.dev"}}}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (SYNTAX_ERROR, "GRAPHQL_PARSE_FAILED"),
        (UNKNOWN_FIELD, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["syntax", "validation"],
)
async def test_request_error_with_graphql_response_json_is_400_without_data(
    client, statements, query, code
):
    response = await client.post(
        "/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert "data" not in body
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]
    assert "path" not in body["errors"][0]
    assert not [sql for sql in statements.statements if "issues" in sql]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (SYNTAX_ERROR, "GRAPHQL_PARSE_FAILED"),
        (UNKNOWN_FIELD, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=["syntax", "validation"],
)
@pytest.mark.parametrize("accept", ["application/json", None], ids=["json", "no-accept"])
async def test_request_error_with_plain_json_is_200(client, query, code, accept):
    headers = {"accept": accept} if accept else {}

    response = await client.post("/graphql", json={"query": query}, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == [code]


async def test_invalid_variable_with_graphql_response_json_is_400(client, statements):
    query = 'query($n: Int!) { workspace(slug: "acme") { issues(first: $n) { totalCount } } }'

    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"n": "ten"}},
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    [error] = body["errors"]
    assert "$n" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert not [sql for sql in statements.statements if "issues" in sql]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_field_error_is_200_with_data_and_errors(client, accept):
    response = await client.post(
        "/graphql", json={"query": FIELD_ERROR}, headers={"accept": accept}
    )

    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert body["data"] is None or body["data"]["workspace"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["workspace", "issues"]


async def test_get_with_variables_executes_a_query(client):
    query = "query($slug: String!) { workspace(slug: $slug) { issues { totalCount } } }"

    response = await client.get(
        "/graphql", params={"query": query, "variables": json.dumps({"slug": "acme"})}
    )

    assert response.status_code == 200
    assert without_cost(response) == {"data": {"workspace": {"issues": {"totalCount": 150}}}}


@pytest.mark.parametrize(
    "content",
    [b'{"query": "{ viewer { name } }"', b"not json at all", b"[1, 2"],
    ids=["truncated", "garbage", "bad-array"],
)
@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, "application/json"])
async def test_malformed_json_body_is_400(client, statements, content, accept):
    response = await client.post(
        "/graphql", content=content, headers={"content-type": "application/json", "accept": accept}
    )

    assert response.status_code == 400
    assert not [sql for sql in statements.statements if "issues" in sql]


async def test_post_without_query_is_400(client):
    response = await client.post("/graphql", json={"variables": {}})

    assert response.status_code == 400


async def test_get_with_html_accept_serves_graphiql(client, statements):
    response = await client.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "graphiql" in response.text.lower()
    assert statements.count == 0


async def test_healthz(client):
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reaches_the_database(client, statements):
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "reachable"}
    assert statements.statements == ["SELECT 1"]


# Error masking, on a tiny schema of its own: what a resolver raises is what the client sees.

SECRET_SQL = "SELECT secret FROM users WHERE password = 'hunter2'"


@strawberry.type
class MaskingQuery:
    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError(SECRET_SQL)

    @strawberry.field
    def bad_input(self) -> str | None:
        raise BadUserInputError("`first` must be between 0 and 100.", argument="first", max=100)

    @strawberry.field
    def fine(self) -> str:
        return "ok"


masking_schema = strawberry.Schema(query=MaskingQuery, extensions=[ClientErrors])


def _formatted(errors: Any) -> list[dict[str, Any]]:
    return [error.formatted for error in errors or []]


async def test_unexpected_exception_is_masked(caplog):
    result = await masking_schema.execute("{ fine boom }")

    assert result.data == {"fine": "ok", "boom": None}
    [error] = _formatted(result.errors)
    assert error["message"] == UNEXPECTED == "Unexpected error."
    assert error["path"] == ["boom"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    assert isinstance(error_id, str) and error_id
    assert set(error["extensions"]) == {"code", "errorId"}
    serialized = json.dumps(error)
    for leak in ("SELECT", "secret", "hunter2", "RuntimeError", "Traceback"):
        assert leak not in serialized
    assert result.errors[0].original_error is None
    # The details are logged for the operator, under the same id.
    assert any(error_id in record.getMessage() for record in caplog.records)


async def test_each_unexpected_error_gets_its_own_id():
    result = await masking_schema.execute("{ a: boom b: boom }")

    ids = {error["extensions"]["errorId"] for error in _formatted(result.errors)}
    assert len(ids) == 2


async def test_backlog_error_passes_through_with_its_code_and_extensions():
    result = await masking_schema.execute("{ badInput }")

    assert result.data == {"badInput": None}
    [error] = _formatted(result.errors)
    assert error["message"] == "`first` must be between 0 and 100."
    assert error["path"] == ["badInput"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first", "max": 100}


@pytest.mark.parametrize(
    ("query", "code"),
    [("{ fine", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED")],
    ids=["syntax", "validation"],
)
async def test_request_errors_keep_their_message_and_get_a_code(query, code):
    result = await masking_schema.execute(query)

    [error] = _formatted(result.errors)
    assert error["extensions"] == {"code": code}
    assert error["message"] != UNEXPECTED


async def test_malformed_global_id_is_null_not_an_error(client):
    response = await client.post("/graphql", json={"query": '{ node(id: "%%%") { id } }'})

    assert response.status_code == 200
    assert without_cost(response) == {"data": {"node": None}}
