"""Differential execution: one query, Backlog's level executor and graphql-core's, the same answer?

`Differential` holds the schema twice as the server builds it (`server.app.create_schema`, every
extension included: the limits, the caches, the error masking), once run by the level executor
(`execution.engine`) and once by graphql-core's own. Each `Case` (a document, its variables and
a viewer) runs through both on the same data, each run with its own request handle and context,
as the GraphQL view makes them. The answers must be equal:

- `data`: the orjson bytes the view would send, key order included;
- the errors as executed (message, path, locations and the class of the original error), in the
  order reported, before `server.errors.ClientErrors` masks the unexpected ones;
- the errors as the client gets them (message, path, locations, extensions), in order, with the
  random `errorId` of a masked error left out;
- the response's `extensions` (the document's cost).

Each divergence is classified (`DIVERGED` and the kinds after it): the differences already
known are told apart from new ones, which alone fail a run. `reduced` shrinks a divergent case
to a minimal one.
"""

from __future__ import annotations

import asyncio
import gc
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from graphql import (
    REMOVE,
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    ObjectFieldNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.extensions import SchemaExtension

from auth.identity import viewer_by_email
from auth.viewer import Viewer
from db.session import Database
from execution.graphql_internals import graphql_schema
from resolvers.context import Context
from server.app import create_schema
from server.rate_limit import RateLimiter
from server.settings import Settings
from server.signing_key import access_token_issuer
from tests.support.actors import TEST_JWT_SECRET
from tests.support.executors import level_order

# What a divergence is. Only `DIVERGED` fails a run. Each of the others is a difference known
# and pinned by a case that fails once the executors agree: `KNOWN_ERROR_ORDER` by
# tests/unit/test_executor_nonnull.py, `ERROR_ORDER` and `ERRORS_UNDER_NULL` by the strict
# xfail cases of tests/platform/test_execution_engine.py (`DIVERGING`); `REFERENCE_FAILED` is
# graphql-core's own execution failing, with nothing to compare.
DIVERGED = "diverged"
"""Anything else: different data, or errors that differ otherwise."""
KNOWN_ERROR_ORDER = "errors in level order"
"""The documented difference (tests/support/executors.py): the same errors, the level
executor's in the order of their paths' lengths, graphql-core's depth first."""
ERROR_ORDER = "errors in another order"
"""The same data and the same errors, in another order: graphql-core reports each error when
its task gets to it (an error nulling a non-null field once it has reached the nullable place it
nulls, list items as their objects' DataLoader futures resolve), the level executor level by
level and in document and list order."""
ERRORS_UNDER_NULL = "other errors under a nulled place"
"""The same data; the errors one executor reports and the other does not (whatever the order
of the rest) are all under a place the response holds null. Once a place is nulled, both drop
the errors they meet under it, but not the same ones: where a nullable field failed before a
non-null sibling nulled their parent, graphql-core has kept the nullable field's error, which the
level executor meets after the parent is nulled; where several list items fail a non-null field
and null the list's parent, each reports the error it met first."""
REFERENCE_FAILED = "graphql-core failed"
"""graphql-core's execution failed where the level executor's did not: a CancelledError escaped
it, or the request's connection was lost (it cancels the siblings of a failed field, SQL and
DataLoader futures other fields wait on included). Nothing to compare."""
TOLERATED = frozenset({KNOWN_ERROR_ORDER, ERROR_ORDER, ERRORS_UNDER_NULL, REFERENCE_FAILED})

GRAPHQL_CORE = "graphql-core"
LEVEL_EXECUTOR = "level executor"

RAISED = b'"raised CancelledError"'
"""The `data` of an execution that raised instead of answering."""
CONNECTION_LOST = (b'"original":"DatabaseUnavailableError"', b'"original":"InterfaceError"')


@dataclass(frozen=True)
class Case:
    """A document to run, with its variables, as one viewer (an email; none such: anonymous)."""

    document: str
    variables: dict[str, Any]
    viewer: str
    seed: int | None = None
    """The seed that generated it, if it was generated (`tests/support/random_queries.py`)."""

    def describe(self) -> str:
        variables = orjson.dumps(self.variables, option=orjson.OPT_INDENT_2).decode()
        return f"seed {self.seed}, viewer {self.viewer}\n{self.document}\nvariables: {variables}"


@dataclass(frozen=True)
class Answer:
    """One executor's response, in the forms the comparison reads."""

    data: bytes
    errors: list[bytes]
    """As executed: message, path, locations and the original error's class, each as JSON."""
    client_errors: list[bytes]
    """As the client gets them (`errorId` left out), each as JSON."""
    extensions: bytes
    error_paths: list[list[str | int] | None]
    left_running: int = field(default=0, compare=False)
    """Tasks the execution left running after it answered (graphql-core leaves a DataLoader's
    batch behind when an error cuts a sibling's wait short): waited for before the request's
    handle is closed, so that they run in this case, not during the next."""

    @property
    def refused(self) -> bool:
        """Refused before it ran (validation, a limit): no `data` and an error without a path."""
        return self.data == b"null" and bool(self.errors) and self.error_paths[0] is None


@dataclass(frozen=True)
class Divergence:
    """A case the executors answer differently, and how."""

    case: Case
    kind: str
    """`DIVERGED`, or one of the kinds after it."""
    expected: Answer
    """graphql-core's."""
    actual: Answer
    """The level executor's."""

    def report(self) -> str:
        lines = [f"{self.kind}: {self.case.describe()}"]
        for name in ("data", "errors", "client_errors", "extensions"):
            expected, actual = getattr(self.expected, name), getattr(self.actual, name)
            if expected != actual:
                lines += [
                    f"  {name}, graphql-core: {_shown(expected)}",
                    f"  {name}, level executor: {_shown(actual)}",
                ]
        return "\n".join(lines)


class Differential:
    """The schema twice, the database the test's, and the viewers by email."""

    def __init__(self, database: Database, settings: Settings, viewers: dict[str, Viewer]):
        self.database = database
        self.settings = settings
        self.viewers = viewers
        self.access_tokens = access_token_issuer(settings)
        self.executed: list[list[GraphQLError]] = []
        self.reference = self._schema(level_executor=False)
        self.level = self._schema(level_executor=True)

    @classmethod
    async def open(
        cls, connection: AsyncConnection, database_url: str, emails: Sequence[str]
    ) -> Differential:
        """Both schemas on the test's connection (each request in a savepoint of it), with rate
        limits off (every run would spend the same budget) and the viewers of `emails`."""
        settings = Settings(
            database_url=database_url,
            BACKLOG_JWT_SECRET=TEST_JWT_SECRET,
            BACKLOG_ENV="development",
            BACKLOG_RATE_LIMIT=0,
        )
        database = Database.sharing(connection)
        db = database.request_handle(snapshot=True)
        try:
            viewers = {email: await viewer_by_email(db, email) for email in emails}
        finally:
            await db.close()
        return cls(database, settings, viewers)

    def _schema(self, *, level_executor: bool) -> Any:
        settings = self.settings.model_copy(update={"level_executor": level_executor})
        schema = create_schema(settings, RateLimiter(settings))
        # Innermost, so it leaves first: it sees the errors before `ClientErrors` masks them.
        schema.extensions = (*schema.extensions, lambda: _ErrorsAsExecuted(self.executed))
        return schema

    @contextmanager
    def counting_abandoned(self) -> Iterator[Counter[str]]:
        """Counts, by executor, the resolver coroutines dropped without being awaited while
        inside: graphql-core drops those of the siblings it cancels when a field fails, and
        Python warns of each once it is freed (an error under pytest, wherever that happens to
        be). Any other unraisable exception goes on to the hook in place."""
        counts: Counter[str] = Counter()
        executors = {
            id(graphql_schema(self.reference)): GRAPHQL_CORE,
            id(graphql_schema(self.level)): LEVEL_EXECUTOR,
        }
        previous = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            executor = _executor_of(unraisable.object, executors)
            if executor is None:
                previous(unraisable)
            else:
                counts[executor] += 1

        sys.unraisablehook = hook
        try:
            yield counts
            gc.collect()  # what reference cycles still hold is freed, and counted, now
        finally:
            sys.unraisablehook = previous

    async def write(self, document: str, variables: dict[str, Any], viewer: str) -> Any:
        """Runs a mutation as `viewer` (graphql-core's executor runs every mutation); its
        `data`, which must come with no errors."""
        db = self.database.request_handle()
        context = Context.for_request(
            None, db, self.viewers[viewer], self.settings, self.access_tokens
        )
        try:
            result = await self.reference.execute(
                document, variable_values=variables, context_value=context
            )
        finally:
            await db.close()
        assert not result.errors, result.errors
        return result.data

    async def run(self, schema: Any, case: Case) -> Answer:
        """`case` through `schema` as the GraphQL view runs a query: a request handle of its own
        (a read-only snapshot), a context made by `Context.for_request`, the handle closed
        whatever happened."""
        db = self.database.request_handle(snapshot=True)
        context = Context.for_request(
            None, db, self.viewers[case.viewer], self.settings, self.access_tokens
        )
        self.executed.clear()
        before = asyncio.all_tasks()
        try:
            try:
                result = await schema.execute(
                    case.document, variable_values=case.variables, context_value=context
                )
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this run is being stopped
                # graphql-core cancels the siblings of a failed field; one waiting on a
                # DataLoader's future cancels that future, and a field elsewhere waiting on the
                # same one gets the CancelledError, which escapes the execution.
                result = None
            left_running = await _settled(before)
        finally:
            await db.close()
        if result is None:
            return Answer(RAISED, [], [], b"null", [], left_running)
        executed = self.executed[0] if self.executed else []
        return Answer(
            data=orjson.dumps(result.data),
            errors=[_executed_error(error) for error in executed],
            client_errors=[_client_error(error) for error in result.errors or []],
            extensions=orjson.dumps(result.extensions),
            error_paths=[error.path for error in executed],
            left_running=left_running,
        )

    async def compare(self, case: Case) -> tuple[Answer, Answer, Divergence | None]:
        """graphql-core's answer, the level executor's, and how they differ (None: not); the
        level executor must also answer a document the same the second time."""
        expected = await self.run(self.reference, case)
        actual = await self.run(self.level, case)
        # Again: the level executor keeps the plans it made for a document (`_OperationPlans`),
        # and the second run is answered from them.
        again = await self.run(self.level, case)
        if again != actual:
            return expected, again, Divergence(case, DIVERGED, actual, again)
        if actual == expected:
            return expected, actual, None
        return expected, actual, Divergence(case, _kind(expected, actual), expected, actual)


def _kind(expected: Answer, actual: Answer) -> str:
    """What kind of divergence two unequal answers show (see `DIVERGED` and what follows)."""
    if _failed(expected) and not _failed(actual):
        return REFERENCE_FAILED
    if actual.data != expected.data or actual.extensions != expected.extensions:
        return DIVERGED
    in_level_order = level_order(list(zip(expected.errors, expected.error_paths, strict=True)))
    if [error for error, _ in in_level_order] == actual.errors:
        clients = dict(zip(expected.errors, expected.client_errors, strict=True))
        if [clients[error] for error, _ in in_level_order] == actual.client_errors:
            return KNOWN_ERROR_ORDER
    if Counter(expected.errors) == Counter(actual.errors) and Counter(
        expected.client_errors
    ) == Counter(actual.client_errors):
        return ERROR_ORDER
    unmatched = (Counter(expected.errors) - Counter(actual.errors)) + (
        Counter(actual.errors) - Counter(expected.errors)
    )
    if all(_under_null(orjson.loads(error)["path"], expected.data) for error in unmatched):
        return ERRORS_UNDER_NULL
    return DIVERGED


def _failed(answer: Answer) -> bool:
    return answer.data == RAISED or any(
        lost in error for error in answer.errors for lost in CONNECTION_LOST
    )


def _under_null(path: list[str | int] | None, data: bytes) -> bool:
    """Whether a place above `path` holds null in `data`."""
    value = orjson.loads(data)
    try:
        for key in (path or [])[:-1]:
            if value is None:
                return True
            value = value[key]
    except (KeyError, IndexError, TypeError):
        return False  # not a place in `data` at all
    return value is None and bool(path)


@dataclass
class FuzzReport:
    """What a run of many cases found."""

    seed: int
    documents: int = 0
    refused: int = 0
    """Refused before running (a limit): both alike, and nothing executed."""
    with_errors: int = 0
    data_nulled: int = 0
    left_running: tuple[int, int] = (0, 0)
    """How many responses of graphql-core's, and of the level executor's, left work running."""
    abandoned: tuple[int, int] = (0, 0)
    """How many resolver coroutines graphql-core, and the level executor, never awaited."""
    seconds: float = 0.0
    divergences: list[Divergence] = field(default_factory=list)

    def failures(self) -> list[Divergence]:
        """The divergences of no tolerated kind."""
        return [d for d in self.divergences if d.kind not in TOLERATED]

    def summary(self) -> str:
        kinds = Counter(d.kind for d in self.divergences)
        found = "; ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items())) or "none"
        return (
            f"seed {self.seed}: {self.documents} documents in {self.seconds:.1f} s "
            f"({self.with_errors} with field errors, {self.data_nulled} with all data nulled, "
            f"{self.refused} refused before running). Divergences: {found}. Work left running "
            f"after answering: {self.left_running[0]} times by graphql-core, "
            f"{self.left_running[1]} by the level executor. Resolver coroutines never awaited: "
            f"{self.abandoned[0]} by graphql-core, {self.abandoned[1]} by the level executor."
        )

    def examples(self, limit: int = 10) -> list[Divergence]:
        """The failures (at most `limit`), then the first divergence of each other kind."""
        shown = self.failures()[:limit]
        for kind in sorted(TOLERATED):
            shown += [d for d in self.divergences if d.kind == kind][:1]
        return shown


async def fuzz(
    differential: Differential,
    cases: Iterator[Case],
    seed: int,
    count: int,
    progress: Callable[[FuzzReport], None] | None = None,
) -> FuzzReport:
    """Runs `count` of `cases` through both executors; every 100 documents, `progress`."""
    report = FuzzReport(seed)
    started = time.perf_counter()
    with differential.counting_abandoned() as abandoned:
        for _ in range(count):
            case = next(cases)
            expected, actual, divergence = await differential.compare(case)
            report.documents += 1
            report.left_running = (
                report.left_running[0] + bool(expected.left_running),
                report.left_running[1] + bool(actual.left_running),
            )
            report.refused += expected.refused
            report.with_errors += bool(expected.errors) and not expected.refused
            report.data_nulled += expected.data == b"null" and not expected.refused
            if divergence is not None:
                report.divergences.append(divergence)
            report.seconds = time.perf_counter() - started
            if progress is not None and report.documents % 100 == 0:
                progress(report)
    report.abandoned = (abandoned[GRAPHQL_CORE], abandoned[LEVEL_EXECUTOR])
    return report


async def reduced(
    differential: Differential, divergence: Divergence, budget: int = 400
) -> Divergence:
    """A smaller case that still diverges the same way: greedily, selections, directives,
    arguments, the fields of input objects and the parts of variables' values are taken out
    one at a time while the document stays valid and the divergence stays of the same kind
    (at most `budget` comparisons)."""
    schema = graphql_schema(differential.reference)
    tries = 0

    async def still_diverges(document: DocumentNode, variables: dict[str, Any]) -> bool:
        nonlocal tries, divergence
        if validate(schema, document):
            return False
        tries += 1
        text = print_ast(document)
        used = {k: v for k, v in variables.items() if re.search(rf"\${k}\b", text)}
        _, _, again = await differential.compare(
            Case(text, used, divergence.case.viewer, divergence.case.seed)
        )
        if again is None or again.kind != divergence.kind:
            return False
        divergence = again
        return True

    progress = True
    with differential.counting_abandoned():
        while progress and tries < budget:
            progress = False
            document = parse(divergence.case.document)
            for target in _removable(document):
                if await still_diverges(
                    _without_unused(visit(document, _Remove(target))), divergence.case.variables
                ):
                    progress = True
                    break
            if progress:
                continue
            for variables in _smaller_values(divergence.case.variables):
                if tries >= budget:
                    break
                if await still_diverges(document, variables):
                    progress = True
                    break
    return divergence


def _smaller_values(variables: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The variables with one key of an object, or one item of a list, taken out somewhere."""

    def smaller(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for key in value:
                yield {k: v for k, v in value.items() if k != key}
            for key, item in value.items():
                for less in smaller(item):
                    yield value | {key: less}
        elif isinstance(value, list):
            for index in range(len(value)):
                yield value[:index] + value[index + 1 :]
            for index, item in enumerate(value):
                for less in smaller(item):
                    yield [*value[:index], less, *value[index + 1 :]]

    for name, value in variables.items():
        for less in smaller(value):
            yield variables | {name: less}


def _removable(document: DocumentNode) -> list[Node]:
    """The nodes whose removal leaves a document that may still parse, outermost first."""
    found: list[Node] = []

    class Collect(Visitor):
        def enter(self, node: Node, *args: Any) -> None:
            if isinstance(
                node,
                FieldNode
                | InlineFragmentNode
                | FragmentSpreadNode
                | DirectiveNode
                | ArgumentNode
                | ObjectFieldNode,
            ):
                found.append(node)

    visit(document, Collect())
    return found


class _Remove(Visitor):
    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target

    def enter(self, node: Node, *args: Any) -> Any:
        return REMOVE if node is self.target else None

    def leave(self, node: Node, *args: Any) -> Any:
        # A selection set left empty goes with what it belonged to.
        selections = getattr(node, "selection_set", None)
        if isinstance(node, FieldNode | InlineFragmentNode) and selections is not None:
            return None if selections.selections else REMOVE
        return None


def _without_unused(document: DocumentNode) -> DocumentNode:
    """Without the fragments nothing spreads and the variables nothing uses."""
    while True:
        text = print_ast(document)
        kept = tuple(
            definition
            for definition in document.definitions
            if not isinstance(definition, FragmentDefinitionNode)
            or re.search(rf"\.\.\.{definition.name.value}\b", text)
        )
        if len(kept) == len(document.definitions):
            break
        document = DocumentNode(definitions=kept)

    def used(variable: VariableDefinitionNode) -> bool:
        return len(re.findall(rf"\${variable.variable.name.value}\b", text)) > 1

    return DocumentNode(
        definitions=tuple(
            replace(
                definition,
                variable_definitions=tuple(filter(used, definition.variable_definitions or ())),
            )
            if isinstance(definition, OperationDefinitionNode)
            else definition
            for definition in document.definitions
        )
    )


def _executor_of(dropped: Any, executors: dict[int, str]) -> str | None:
    """Which executor made `dropped`, if it is a resolver's coroutine (the `info` it was given
    holds the schema it ran on)."""
    frame = getattr(dropped, "cr_frame", None)
    for value in frame.f_locals.values() if frame is not None else ():
        executor = executors.get(id(getattr(value, "schema", None)))
        if executor is not None:
            return executor
    return None


async def _settled(before: set[asyncio.Task[Any]]) -> int:
    """Waits for the tasks started since `before` (and those they start); how many there were."""
    current = asyncio.current_task()
    waited = 0
    while True:
        for _ in range(3):  # a DataLoader starts its batch from a `call_soon` callback
            await asyncio.sleep(0)
        running = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
        if not running:
            return waited
        waited += len(running)
        await asyncio.gather(*running, return_exceptions=True)


class _ErrorsAsExecuted(SchemaExtension):
    """Hands each result's errors, as the executor made them, to `sink`."""

    def __init__(self, sink: list[list[GraphQLError]]) -> None:
        self.sink = sink

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        self.sink.append(list(result.errors or []) if result is not None else [])


def _executed_error(error: GraphQLError) -> bytes:
    original = error.original_error
    return orjson.dumps(
        {
            "message": error.message,
            "path": error.path,
            "locations": [[loc.line, loc.column] for loc in error.locations or []],
            "original": None if original is None else type(original).__name__,
        }
    )


def _client_error(error: GraphQLError) -> bytes:
    formatted = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    if "errorId" in extensions:
        extensions["errorId"] = "..."  # random per error
    formatted["extensions"] = extensions
    return orjson.dumps(formatted)


def _shown(value: bytes | list[bytes]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(item.decode() for item in value) + "]"
    text = value.decode()
    return text if len(text) <= 2000 else text[:2000] + f"... ({len(text)} characters)"
