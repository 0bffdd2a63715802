"""The benchmark's workloads, request templates and report, without a database.

The bench itself (`python3 dev.py bench`) checks every server's answers against a seeded
database; these pin what it relies on: each workload's operations and peers line up, template
bodies are filled the same way by Python and by wrk's Lua, a mutation payload's typed errors
count as errors, and a peer without an equivalent is reported as n/a.
"""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from graphql import parse

from bench import floor, postgraphile, postgraphile5, report, servers
from bench.live import LiveRun, analyse
from bench.live import parse_options as parse_live_options
from bench.live_client import Received
from bench.load import fill, run_wrk
from bench.options import parse_options
from bench.workloads import (
    DEFAULT_WORKLOADS,
    DOCUMENTS,
    MIXED,
    PEERS,
    WORKLOADS,
    CheckError,
    Targets,
    check_answer,
    checked_operations,
    document_shares,
    writes,
)
from core.ids import to_global_id
from schema.changes import stream_cursor

TARGETS = Targets(
    workspace_slug="acme",
    detail_issue_pk=61,
    updated_issues=tuple((pk, f"Fix login sync {pk}") for pk in range(1, 101)),
    state_pks=(1, 2, 3, 4, 5, 6),
    create_project_pk=21,
    create_label_pk=31,
    create_assignee_pk=1,
    spread_issues=tuple((pk, f"Globex task {pk}") for pk in range(1001, 1051)),
)


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_a_peer_runs_a_workload_exactly_when_every_operation_has_its_body(name):
    workload = WORKLOADS[name]
    operations = [operation for _, operation in workload.operations(TARGETS)]

    assert operations and all(weight > 0 for weight, _ in workload.operations(TARGETS))
    assert all(operation.document in DOCUMENTS for operation in operations)
    with_floor = [op for op in operations if op.floor_path is not None and op.floor is not None]
    for peer in PEERS:
        with_peer = [op for op in operations if op.peer(peer) is not None]
        assert workload.runs_on(peer) == (with_peer == operations)
        for operation in with_peer:
            assert DOCUMENTS[operation.document].summarize_peer(peer) is not None
    assert workload.runs_on("floor") == (with_floor == operations)
    for operation in with_floor:
        assert operation.floor_path == f"/{operation.document}"
        assert operation.document in floor.VIEWS


def test_mixed_is_ninety_percent_reads_and_checks_every_document():
    shares = document_shares("mixed", TARGETS)

    reads = sum(share for name, share in shares.items() if not DOCUMENTS[name].writes)
    assert reads == pytest.approx(0.9)
    assert shares == pytest.approx({name: share / 100 for name, share in MIXED})
    assert [op.document for op in checked_operations("mixed", TARGETS)] == [n for n, _ in MIXED]
    assert writes("mixed", TARGETS) and not writes("board", TARGETS)


def test_issue_update_spreads_over_issues_and_always_changes_the_title():
    operations = WORKLOADS["issueUpdate"].operations(TARGETS)
    inputs = [op.backlog["variables"]["input"] for _, op in operations]

    assert len({item["id"] for item in inputs}) == len(TARGETS.updated_issues)
    assert all("@SEQ@" in item["title"] for item in inputs)
    assert {frozenset(item) - {"id", "title"} for item in inputs} == {
        frozenset(),
        frozenset({"priority"}),
        frozenset({"stateId"}),
    }
    assert [op.document for op in checked_operations("issueUpdate", TARGETS)] == ["issueUpdate"]


def test_writes_spread_alternates_the_two_workspaces_issues():
    operations = WORKLOADS["writes-spread"].operations(TARGETS)
    inputs = [op.backlog["variables"]["input"] for _, op in operations]
    acme = {to_global_id("Issue", pk) for pk, _ in TARGETS.updated_issues}
    globex = {to_global_id("Issue", pk) for pk, _ in TARGETS.spread_issues}

    assert [item["id"] in acme for item in inputs] == [True, False] * len(globex)
    assert {item["id"] for item in inputs[1::2]} == globex
    assert all("@SEQ@" in item["title"] and "stateId" not in item for item in inputs)
    assert writes("writes-spread", TARGETS)


def test_templates_fill_a_number_and_pick_choices_by_it():
    body = orjson.dumps({"title": "T #@SEQ@", "priority": "@SEQ:URGENT|HIGH|LOW@"})

    assert orjson.loads(fill(body, 4)) == {"title": "T #4", "priority": "HIGH"}
    assert orjson.loads(fill(body, 6)) == {"title": "T #6", "priority": "URGENT"}
    assert fill(b'{"plain": 1}', 9) == b'{"plain": 1}'


def test_a_mutation_payloads_typed_errors_fail_the_answer_check():
    ok = {"data": {"issueUpdate": {"issue": {"id": "x"}, "errors": []}}}
    refused = {"data": {"issueUpdate": {"issue": None, "errors": [{"code": "NOT_FOUND"}]}}}

    assert check_answer("backlog", "issueUpdate", 200, ok) is ok
    with pytest.raises(CheckError, match="refusal"):
        check_answer("backlog", "issueUpdate", 200, refused)


def test_servers_without_an_equivalent_are_not_started_and_are_reported_na():
    options = parse_options(["--workloads", "search,issueCreate", "--quick"], None)

    assert [server for server, _, _ in options.plan()] == [
        "backlog",
        "backlog-unlimited",
        "backlog-plain",
        "n+1",
        "floor",
    ]
    assert options.workloads_for("floor") == ("search",)
    assert options.runs() == 4 * 2 + 1
    assert set(options.not_comparable()) == {
        ("postgraphile", "search"),
        ("postgraphile", "issueCreate"),
        ("postgraphile5", "search"),
        ("postgraphile5", "issueCreate"),
        ("floor", "issueCreate"),
    }
    assert set(DEFAULT_WORKLOADS) <= set(WORKLOADS)


def _run(server: str, workload: str, rps: float, **extra: Any) -> report.Run:
    return report.Run(
        server=server, workload=workload, workers=1, concurrency=16, duration_s=10.0,
        requests=int(rps * 10), requests_per_s=rps, p50_ms=10.0, p95_ms=20.0, p99_ms=30.0,
        errors=0, error_detail={}, server_cpu_ms_per_request=5.0, db_cpu_ms_per_request=2.0,
        peak_rss_mb=100.0, **extra,
    )  # fmt: skip


def test_the_report_says_na_with_the_reason_for_a_missing_peer(capsys):
    written = {"issues_created": 0, "activity_appended": 1500, "issues_updated": 80}
    waits = {"busy": 9.5, "running": 1.0, "stream_lock": 6.0, "row_locks": 0.5, "io": 0.5}
    runs = [
        _run("backlog", "search", 50.0),
        _run("floor", "search", 80.0),
        _run("backlog", "issueUpdate", 100.0, written=written, db_waits=waits),
    ]
    lacking = {("postgraphile", "search"): "no search", ("postgraphile", "issueUpdate"): "no"}

    found = report.print_report(runs, [], lacking)
    out = capsys.readouterr().out

    search = next(t for t in found if t.name == "search vs the faster PostGraphile: p99")
    assert (search.verdict, search.detail) == ("n/a", "no search")
    assert "n/a: postgraphile x search: no search" in out
    search_row = next(line for line in out.splitlines() if line.startswith("search "))
    # ÷PG req/s, ÷PG p99, ÷PG5 req/s, ÷PG5 p99, ÷N+1
    assert search_row.split()[3:8] == ["n/a"] * 5
    assert "0.62x" in search_row  # ÷floor
    update_row = next(line for line in out.splitlines() if "issueUpdate" in line and "1.50" in line)
    assert update_row.split()[-6:] == ["9.5", "1.0", "6.0", "0.5", "0.5", "n/a"]


def _issue(number: int, labels: int, comments: int) -> dict[str, Any]:
    """One issue as PostGraphile 5 answers it in the list view (v4: labels as a plain list)."""
    return {
        "rowId": str(number),
        "issueLabelsByIssueIdAndWorkspaceId": {
            "nodes": [{"labelByLabelIdAndWorkspaceId": {"name": "L"}}] * labels
        },
        "commentsByIssueIdAndWorkspaceId": {
            "totalCount": comments + 1,
            "nodes": [{"body": "b", "userByAuthorId": {"name": "A"}}] * comments,
        },
        "userByAssigneeId": {"name": "A"} if number % 2 else None,
    }


def _as_v4(issue: dict[str, Any]) -> dict[str, Any]:
    labels = issue["issueLabelsByIssueIdAndWorkspaceId"]["nodes"]
    rest = {k: v for k, v in issue.items() if k != "issueLabelsByIssueIdAndWorkspaceId"}
    return {**rest, "issueLabelsByIssueIdAndWorkspaceIdList": labels}


def test_postgraphile_5_answers_are_summarized_like_version_4s():
    """The same rows in each version's shape (v5: connections everywhere, `...ByRowId`) give
    the same summary, the one compared with Backlog's."""
    issues = [_issue(1, 2, 3), _issue(2, 0, 1), _issue(3, 1, 0)]
    child = {"number": 4, "title": "t"}
    detail = {
        "issueByParentIdAndWorkspaceId": {"number": 9},
        "issuesByParentIdAndWorkspaceId": {"totalCount": 3, "nodes": [child]},
        "commentsByIssueIdAndWorkspaceId": {"totalCount": 2, "nodes": [{"body": "b"}] * 2},
    }
    states = [
        {"name": "Todo", "issuesByStateIdAndWorkspaceId": {"totalCount": 7, "nodes": issues}},
        {"name": "Done", "issuesByStateIdAndWorkspaceId": {"totalCount": 0, "nodes": []}},
    ]
    v5 = {
        "list": {"workspaceBySlug": {"issuesByWorkspaceId": {"totalCount": 9, "nodes": issues}}},
        "detail": {"issueByRowId": {**detail, **_issue(5, 2, 0), **detail}},
        "board": {"workspaceBySlug": {"workflowStatesByWorkspaceId": {"nodes": states}}},
    }
    v4_states = [
        {**s, "issuesByStateIdAndWorkspaceId": {
            "totalCount": s["issuesByStateIdAndWorkspaceId"]["totalCount"],
            "nodes": [_as_v4(i) for i in s["issuesByStateIdAndWorkspaceId"]["nodes"]],
        }}
        for s in states
    ]  # fmt: skip
    v4 = {
        "list": {
            "workspaceBySlug": {
                "issuesByWorkspaceId": {"totalCount": 9, "nodes": [_as_v4(i) for i in issues]}
            }
        },
        "detail": {"issueById": {**_as_v4(_issue(5, 2, 0)), **detail}},
        "board": {"workspaceBySlug": {"workflowStatesByWorkspaceIdList": v4_states}},
    }

    for name in ("list", "detail", "board"):
        document = DOCUMENTS[name]
        summarize4, summarize5 = (
            document.summarize_peer("postgraphile"),
            document.summarize_peer("postgraphile5"),
        )
        assert summarize4 is not None and summarize5 is not None
        assert summarize5({"data": v5[name]}) == summarize4({"data": v4[name]})
    board = DOCUMENTS["board"].summarize_postgraphile5
    assert board is not None
    assert board({"data": v5["board"]}) == {
        "groups": 2, "issues": 3, "issues_total": 7, "labels": 3, "assigned": 2,
    }  # fmt: skip


def test_postgraphile_5s_documents_use_its_schema_shape_and_every_peer_has_a_server():
    for workload, document in postgraphile5.DOCUMENTS.items():
        parse(document)  # derived from v4's text: still well formed
        # Connections throughout (no v4 `...List` fields), rows by `rowId`, v4's variables.
        assert "IdList" not in document and "issueById" not in document
        assert "issueLabelsByIssueIdAndWorkspaceId(" in document
        assert postgraphile5.variables(workload, 61) == postgraphile.variables(workload, 61)
    assert "issueByRowId(rowId: $id)" in postgraphile5.DETAIL_VIEW
    assert "PgIndexBehaviorsPlugin" in postgraphile5.CONFIG
    assert "makePgService" in postgraphile5.CONFIG and "node:cluster" in postgraphile5.SERVER
    for peer in PEERS:
        assert servers.SERVERS[peer].app is None


class _Echo(BaseHTTPRequestHandler):
    """Answers like a GraphQL server: a payload with typed errors when the body asks for them."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(body)
        errors = [{"code": "CONFLICT"}] if body["fail"] else []
        answer = orjson.dumps({"data": {"issueUpdate": {"issue": None, "errors": errors}}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


def _load_echo(bodies: list[tuple[float, bytes]]) -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.received = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
        return run_wrk(url, bodies, concurrency=2, duration_s=1)
    finally:
        server.shutdown()
        server.server_close()


needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@needs_wrk
def test_wrk_spreads_requests_over_template_bodies():
    bodies = [(1.0, orjson.dumps({"title": f"{i} @SEQ@", "fail": False})) for i in range(4)]

    result = _load_echo(bodies)

    assert all(sent > result.requests / 10 for sent in result.sent_per_body)
    assert result.graphql_errors == 0


@needs_wrk
def test_wrk_fills_templates_per_request_and_counts_only_non_empty_errors():
    good = orjson.dumps({"title": "T @SEQ@", "pick": "@SEQ:a|b@", "fail": False})
    bad = orjson.dumps({"title": "plain", "pick": "-", "fail": True})

    result = _load_echo([(3.0, good), (1.0, bad)])

    filled = [body for body in _Echo.received if not body["fail"]]
    assert result.requests > 10 and filled
    assert len({body["title"] for body in filled}) == len(filled)  # a new number every time
    for body in filled:
        seq = int(body["title"].removeprefix("T "))
        assert body["pick"] == "ab"[seq % 2]
    failed = len(_Echo.received) - len(filled)
    # wrk may leave requests unanswered at the end; every answered failing one is counted.
    assert 0 < result.graphql_errors == result.failed_responses <= failed
    assert result.graphql_errors >= result.requests - len(filled) - 2


# -- live: what every subscriber received, checked against the writes ------------------------


def _received(server: int, deliveries: list[tuple[int, int]], at: float = 10.0) -> Received:
    """A subscriber that received (seq, stream entry id) pairs in this order, 0.05 s apart."""
    return Received(
        server=server,
        seqs=[seq for seq, _ in deliveries],
        cursors=[stream_cursor(7, entry) for _, entry in deliveries],
        times=[at + 0.05 * number for number in range(len(deliveries))],
    )


def _analysed(received: list[Received], done: dict[int, float] | None = None) -> LiveRun:
    sent = {seq: 9.0 + seq * 0.001 for seq in range(1, 6)}
    options = parse_live_options(["--subscribers", "3", "--seconds", "1", "--rate", "4"])
    return analyse(
        options=options,
        count=len(received),
        received=received,
        sent=sent,
        done={seq: at + 0.01 for seq, at in sent.items()} if done is None else done,
        live=range(2, 6),  # seq 1 is the sentinel: not counted
        began=9.0,
        cpu={"server": 1.0, "db": 0.5, "clients": 0.5},
        db_visible=True,
        write_cpu_ms_alone=10.0,
        rss=([100.0, 100.0], [101.0, 101.0], [102.0, 102.0]),
        connected=len(received),
        phase=(2.0, 1.5, [0.4, 0.5]),
    )


EVERYTHING = [(1, 100), (2, 101), (3, 102), (4, 103), (5, 104)]


def test_live_counts_every_delivery_of_every_committed_write_once_in_order():
    run = _analysed([_received(0, EVERYTHING), _received(1, EVERYTHING[1:])])

    assert run.correct
    assert (run.writes, run.deliveries) == (4, 8)
    assert (run.missing, run.duplicated, run.out_of_order, run.unexpected) == (0, 0, 0, 0)
    assert run.kib_per_connection == 1024.0  # 2 MB more over 2 connections
    assert run.p50_ms > 0 and run.p99_from_send_ms > run.p99_ms


@pytest.mark.parametrize(
    ("deliveries", "missing", "duplicated", "out_of_order"),
    [
        ([(2, 101), (3, 102), (5, 104)], 1, 0, 0),
        ([(2, 101), (3, 102), (3, 102), (4, 103), (5, 104)], 0, 1, 0),
        ([(2, 101), (4, 103), (3, 102), (5, 104)], 0, 0, 1),
    ],
    ids=["missed", "twice", "out of order"],
)
def test_live_finds_a_subscriber_that_missed_repeated_or_reordered_an_event(
    deliveries, missing, duplicated, out_of_order
):
    run = _analysed([_received(0, EVERYTHING), _received(1, deliveries)])

    assert (run.missing, run.duplicated, run.out_of_order) == (missing, duplicated, out_of_order)
    assert not run.correct


def test_live_tells_apart_a_failed_write_and_disagreeing_cursors():
    failed_write = {seq: 9.1 for seq in (1, 2, 3, 5)}  # seq 4 got no successful response
    run = _analysed(
        [_received(0, EVERYTHING), _received(1, [(2, 101), (3, 102), (4, 103), (5, 999)])],
        done=failed_write,
    )

    assert (run.writes, run.write_failures) == (3, 1)
    assert run.unexpected == 2  # each subscriber received the write that answered an error
    assert run.cursor_disagreements == 1  # seq 5 came with two different stream positions
    assert run.missing == 0 and not run.correct
