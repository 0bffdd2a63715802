"""The pre-flight does its work once: one JSON decode of the body, one parse of the document
(none when the per-process cache has it), and the transaction chosen from that parse."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from graphql.language.parser import Parser

from db.session import Database
from server import preflight
from tests.support.graphql import without_cost

JSON = {"content-type": "application/json"}


@dataclass
class Work:
    """What one request cost: decodes of its body, parses, and the transactions it asked for."""

    body: bytes = b""
    body_decodes: int = 0
    parses: int = 0
    snapshots: list[bool] = field(default_factory=list)


@pytest.fixture
async def client(make_client):
    # Rate limits off: the limiter's own handle (tests/platform/test_rate_limits.py) is not the
    # request's, whose transaction these tests follow.
    async with make_client(BACKLOG_RATE_LIMIT="0") as client:
        yield client


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    """Counts, without replacing any of them, the calls that decode, parse and open a handle."""
    seen = Work()

    def counting_decoder(decode: Callable[..., Any]) -> Callable[..., Any]:
        def counted(data: Any, *args: Any, **kwargs: Any) -> Any:
            if seen.body and data == seen.body:
                seen.body_decodes += 1
            return decode(data, *args, **kwargs)

        return counted

    parse_document = Parser.parse_document

    def counted_parse(parser: Parser) -> Any:
        seen.parses += 1
        return parse_document(parser)

    request_handle = Database.request_handle

    def recorded_handle(database: Database, *, snapshot: bool = False) -> Any:
        seen.snapshots.append(snapshot)
        return request_handle(database, snapshot=snapshot)

    monkeypatch.setattr(json, "loads", counting_decoder(json.loads))
    monkeypatch.setattr(orjson, "loads", counting_decoder(orjson.loads))
    monkeypatch.setattr(Parser, "parse_document", counted_parse)
    monkeypatch.setattr(Database, "request_handle", recorded_handle)
    yield seen


def fresh(document: str) -> str:
    """`document` under an operation name no other test used, so the parse cache misses."""
    return document.replace("OPERATION", f"Probe_{uuid.uuid4().hex}")


async def post(client, work: Work, payload: dict[str, Any]) -> dict[str, Any]:
    work.body = orjson.dumps(payload)
    response = await client.post("/graphql", content=work.body, headers=JSON)
    work.body = b""
    assert response.status_code == 200, response.text
    return without_cost(response)


async def test_a_query_is_decoded_and_parsed_once_and_reads_a_snapshot(client, work):
    payload = {"query": fresh("query OPERATION { viewer { email } }")}

    body = await post(client, work, payload)

    assert body == {"data": {"viewer": {"email": "demo@backlog.dev"}}}
    assert (work.body_decodes, work.parses, work.snapshots) == (1, 1, [True])

    # The same document again: the per-process cache serves both the pre-flight and Strawberry.
    work.parses, work.body_decodes, work.snapshots = 0, 0, []
    assert await post(client, work, payload) == body
    assert (work.body_decodes, work.parses, work.snapshots) == (1, 0, [True])


async def test_a_mutation_is_decoded_and_parsed_once_and_may_write(client, work):
    document = 'mutation OPERATION { issueDelete(input: {id: "SXNzdWU6MA=="}) { deletedIssueId } }'

    body = await post(client, work, {"query": fresh(document)})

    assert body["data"] == {"issueDelete": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["NOT_FOUND"]
    assert (work.body_decodes, work.parses, work.snapshots) == (1, 1, [False])


async def test_a_body_searched_for_unstorable_text_is_still_decoded_once(client, work):
    # `\\u0000` quoted as text: the body looks suspect, is searched, and passes.
    document = fresh("query OPERATION($t: String!) { workspace(slug: $t) { id } }")

    body = await post(client, work, {"query": document, "variables": {"t": "\\u0000"}})

    assert body == {"data": {"workspace": None}}
    assert (work.body_decodes, work.parses, work.snapshots) == (1, 1, [True])


async def test_a_body_with_unstorable_text_is_refused_after_one_decode(client, work, statements):
    document = fresh("query OPERATION($t: String!) { workspace(slug: $t) { id } }")

    body = await post(client, work, {"query": document, "variables": {"t": "a\x00b"}})

    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert (work.body_decodes, work.parses, work.snapshots) == (1, 0, [])
    assert statements.count == 0


async def test_a_get_query_decodes_no_body(client, work):
    response = await client.get(
        "/graphql", params={"query": fresh("query OPERATION { viewer { email } }")}
    )

    assert without_cost(response) == {"data": {"viewer": {"email": "demo@backlog.dev"}}}
    assert (work.parses, work.snapshots) == (1, [True])


async def test_a_document_that_does_not_parse_is_reported_by_strawberry(client, work):
    payload = {"query": fresh("query OPERATION { viewer { email }")}

    body = await post(client, work, payload)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["GRAPHQL_PARSE_FAILED"]
    # The pre-flight's parse fails (cached as such), and Strawberry parses to report the error.
    assert (work.body_decodes, work.parses, work.snapshots) == (1, 2, [False])
    work.parses = 0
    await post(client, work, payload)
    assert work.parses == 1


def test_outside_a_request_the_decoder_is_the_standard_one():
    assert preflight.decode_json(b'{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}
    assert preflight.decode_json('{"big": 123456789012345678901234567890}') == {
        "big": 123456789012345678901234567890
    }
