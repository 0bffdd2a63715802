"""Helpers shared by the test modules (no test module is ever imported as a library).

- `actors`: the demo users each role is played by, and the test signing secret.
- `graphql`: the one way to call the API from a test, and the checks on its answers.
- `ids`: global ids, primary keys and row lookups.
- `factories`: typed functions that make the data a test needs (issues, race workspaces).
- `races`: holding locks and starting requests while they are held, synchronized on the
  database's own view of who waits for a lock (never on sleeps).
- `issue_rows`: acme's issues read with plain SQL, the independent reading the filter and
  ordering tests compute their expectations from.
- `executors`: tiny inline schemas run through both executors (the level executor and
  graphql-core's), compared answer for answer.

Where tests live, by what they prove: `api/<domain>/` (what each query and mutation answers and
writes, end to end through HTTP), `access/` (who may read and write what), `concurrency/` (real
connections and commits racing), `unit/` (no database: pure functions, the executor on inline
schemas), `performance/` (statement-count pins), `platform/` (HTTP, limits, migrations, the
schema file, bench workloads, the executor corpus on the seeded data), `browser/` (GraphiQL).
"""
