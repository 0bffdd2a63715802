"""Random valid query documents over Backlog's schema, with random variables, for differential
fuzzing of the executor (`tests/support/differential.py`).

The generator walks the graphql-core schema object itself: every object type, interface, field,
argument and input type it meets comes from the schema, so a new field is fuzzed without a
change here. What it knows of Backlog is only where the values that hit real rows come from:
`Samples`, harvested from the seeded data (global ids of every type from both workspaces, cursors
of many lists and orders, issue identifiers, slugs, words of titles), and a few broken values
(ids of nothing, padded ids, cursors of nothing, pages out of range) so that field errors, their
order and null propagation are compared too.

A document holds nested selections through relations and connections, `node`/`nodes` with
inline fragments on several types, named and inline fragments on `Node` and on objects, aliases
of one field with different arguments, `@skip`/`@include` from literals and variables,
`__typename` anywhere, and arguments (pages, cursors, orders, filters) given inline or through
variables of their type, sometimes with defaults, sometimes left out. Every document passes
graphql-core's validation with the server's own limits (depth, aliases, tokens, cost), or it is
thrown away and drawn again: only queries, never mutations or subscriptions.

The same seed and samples give the same case: a document's seed is all it takes to make it again.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    SchemaMetaFieldDef,
    TypeMetaFieldDef,
    get_named_type,
    is_leaf_type,
    parse,
    specified_rules,
    validate,
)
from graphql.pyutils import Undefined
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from core.ids import from_global_id, to_global_id
from server.cost import operation_cost
from server.settings import Settings
from tests.support.differential import Case, Differential
from tests.support.ids import raw_global_id

PAGE_ARGUMENTS = ("first", "last", "after", "before")
PAGES = {0: 1, 1: 4, 2: 4, 3: 4, 5: 3, 10: 1, 50: 0.3, 100: 0.2}
"""Page sizes and their weights: small ones mostly, so that documents stay cheap to run."""
BAD_PAGES = (-1, 101, 1000)
BAD_IDS = (
    to_global_id("Issue", 999_999),  # nothing
    to_global_id("Nope", 1),  # no such type
    "SXNzdWU6MQ==",  # Issue:1, padded: not one of ours
    raw_global_id("Issue:01"),  # not one spelling
    "bm9wZQ",  # not a global id
    "",
)
BAD_CURSORS = ("bm9wZQ", "", "not a cursor", raw_global_id('["id+"]'), raw_global_id("[]"))
DATE_TIMES = ("2020-01-01T00:00:00Z", "2025-06-01T12:30:00+00:00", "2099-01-01T00:00:00Z")
DATES = ("2020-01-01", "2025-06-30", "2026-12-31")
SEARCHES = ("login", "crash or login", "  ", '"login page"', "-crash", "search", "x")
ERROR_RATE = 0.08
"""How often a value is one meant to fail (a bad id, cursor or page)."""

FIELD_WEIGHTS = {
    "Query.workspace": 6.0,
    "Query.node": 3.0,
    "Query.nodes": 2.0,
    "Query.viewer": 2.0,
    "Query.rateLimit": 0.2,
    "Query.__type": 0.2,
    "Query.__schema": 0.05,
    "Workspace.issues": 6.0,
    "Workspace.issue": 2.0,
    "Project.issues": 3.0,
    "User.assignedIssues": 3.0,
    **{f"Issue.{name}": 3.0 for name in ("comments", "labels", "children", "history")},
    **{f"Issue.{name}": 2.5 for name in ("parent", "assignee", "creator", "state", "project")},
}
"""Fields drawn more (or less) often than others: mostly where the data is, issues and what
hangs off them (`rateLimit` is null here: rate limits are off)."""

# An ID in a filter names an object of the type its comparator is about.
ID_TYPES_OF_INPUTS = {
    "IssueFilter": "Issue",
    "ParentIssueFilter": "Issue",
    "WorkflowStateFilter": "WorkflowState",
    "NullableUserFilter": "User",
    "ProjectFilter": "Project",
    "LabelFilter": "Label",
}


@dataclass
class Samples:
    """Values found in the data: what makes arguments hit real rows."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    """Global ids by type name, from both workspaces."""
    cursors: list[str] = field(default_factory=list)
    """Cursors of many lists and orders (a cursor of another list is an error: good too)."""
    stream_cursors: list[str] = field(default_factory=list)
    """`changes` cursors."""
    identifiers: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    """Words of titles and names: search terms and string filters."""

    def add(self, response: Any, key: str = "", within: str = "") -> None:
        """Collects every id, cursor, identifier, slug and word of a response's `data` (the
        cursor of an object under a `changes` key is a stream's)."""
        if isinstance(response, list):
            for item in response:
                self.add(item, key, within)
        elif isinstance(response, dict):
            for name, value in response.items():
                self.add(value, name, key)
        elif isinstance(response, str):
            self._add_text(key, response, within)

    def _add_text(self, key: str, value: str, within: str) -> None:
        if key == "id" and (decoded := from_global_id(value)) is not None:
            _add_once(self.ids.setdefault(decoded[0], []), value)
        elif key in ("cursor", "startCursor", "endCursor"):
            _add_once(self.stream_cursors if within == "changes" else self.cursors, value)
        elif key == "identifier":
            _add_once(self.identifiers, value)
        elif key == "slug":
            _add_once(self.slugs, value)
        elif key in ("title", "name", "key"):
            for word in value.split():
                if word.isalpha() and len(self.words) < 300:
                    _add_once(self.words, word.lower())


HARVEST = """
query Harvest {
  viewer { id name assignedIssues(first: 5) { edges { cursor node { id } } }
    notifications(first: 10) { edges { cursor node { id } } } apiTokens { id } }
  acme: workspace(slug: "acme") { ...Everything }
  globex: workspace(slug: "globex") { ...Everything }
}
fragment Everything on Workspace {
  id slug name invitations { id }
  webhooks(first: 5) { edges { cursor node { id
    deliveries(first: 3) { edges { cursor node { id } } } } } }
  projects(first: 10) { edges { cursor node { id key name } } }
  members(first: 20) { edges { cursor node { id user { id name } } } }
  labels(first: 20) { edges { cursor node { id name } } }
  workflowStates(first: 10) { edges { cursor node { id name } } }
  issues(first: 40) { edges { cursor node { id identifier title
    comments(first: 3) { edges { cursor node { id } } }
    history(first: 3) { edges { cursor node { id } } } } } }
  byPriority: issues(first: 5, orderBy: [{field: PRIORITY, direction: DESC}]) { edges { cursor } }
  byDueDate: issues(last: 5, orderBy: [{field: DUE_DATE}, {field: ESTIMATE, direction: DESC}]) {
    edges { cursor } }
  archived: issues(first: 5, filter: {includeArchived: true, archivedAt: {null: false}}) {
    edges { cursor node { id identifier } } }
  search(query: "login", first: 5) { edges { cursor } }
  activity(first: 20) { edges { cursor node { id } } }
  changes(first: 5) { cursor nodes { id } }
}
"""


FIND = """
query Find { workspace(slug: "acme") { id
  issues(first: 6) { nodes { id } } workflowStates { nodes { id } }
  members(first: 20) { nodes { user { id email } } } }
  globex: workspace(slug: "globex") { issues(first: 1) { nodes { id } } } }
"""
ISSUE_UPDATE = """mutation ($input: IssueUpdateInput!) {
  issueUpdate(input: $input) { errors { code message } } }"""
COMMENT_CREATE = """mutation ($input: CommentCreateInput!) {
  commentCreate(input: $input) { errors { code message } } }"""
OWNER_WRITES = """mutation ($issue: ID!, $workspace: ID!) {
  issueArchive(input: {id: $issue}) { errors { code message } }
  labelCreate(input: {workspaceId: $workspace, name: "Fuzzed", color: "#336699"}) {
    errors { code message } }
  apiTokenCreate(input: {name: "fuzz", scope: READ}) { errors { code message } }
  memberInvite(input: {workspaceId: $workspace, email: "new@fuzz.dev", role: GUEST}) {
    errors { code message } } }"""


async def write_history(differential: Differential, owner: str, admin: str, stranger: str) -> None:
    """Writes through the API what the seed lacks and queries read: activity, notifications
    of each kind, an archived issue, a label, an API token, an invitation. (Rolled back with
    the test's transaction.)"""
    found = await differential.write(FIND, {}, owner)
    acme = found["workspace"]
    issues = [node["id"] for node in acme["issues"]["nodes"]]
    states = [node["id"] for node in acme["workflowStates"]["nodes"]]
    users = {node["user"]["email"]: node["user"]["id"] for node in acme["members"]["nodes"]}
    changes: list[tuple[str, dict[str, Any], str]] = [
        (ISSUE_UPDATE, {"id": issues[0], "assigneeId": users[owner], "priority": "URGENT"}, admin),
        (COMMENT_CREATE, {"issueId": issues[1], "body": f"@{owner.split('@')[0]} look"}, admin),
        (ISSUE_UPDATE, {"id": issues[2], "assigneeId": users[owner], "estimate": 5}, admin),
        (COMMENT_CREATE, {"issueId": issues[0], "body": f"On it, @{admin.split('@')[0]}."}, owner),
        (ISSUE_UPDATE, {"id": issues[0], "stateId": states[-2]}, admin),
        (ISSUE_UPDATE, {"id": issues[4], "parentId": issues[5], "dueDate": "2025-06-30"}, owner),
    ]
    globex = found["globex"]["issues"]["nodes"]
    changes.append((ISSUE_UPDATE, {"id": globex[0]["id"], "priority": "LOW"}, stranger))
    for document, values, viewer in changes:
        data = await differential.write(document, {"input": values}, viewer)
        assert all(not payload["errors"] for payload in data.values()), data
    data = await differential.write(
        OWNER_WRITES, {"issue": issues[3], "workspace": acme["id"]}, owner
    )
    assert all(not payload["errors"] for payload in data.values()), data


async def harvest(differential: Differential, viewers: Sequence[str]) -> Samples:
    """The samples: what `HARVEST` finds, through graphql-core's executor, as each of
    `viewers`."""
    samples = Samples()
    for viewer in viewers:
        answer = await differential.run(differential.reference, Case(HARVEST, {}, viewer))
        samples.add(orjson.loads(answer.data))
    return samples


class QueryGenerator:
    """Draws cases: a valid query document, its variables and a viewer."""

    def __init__(
        self,
        schema: GraphQLSchema,
        samples: Samples,
        settings: Settings,
        viewers: Sequence[str],
    ) -> None:
        self.schema = schema
        self.samples = samples
        self.viewers = list(viewers)
        self.settings = settings
        # The server's own limits (`server.app.create_schema`), so that drawn documents run.
        self.rules = [
            *specified_rules,
            *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        ]
        self.drawn = 0
        self.rejected = 0

    def cases(self, seed: int) -> Iterator[Case]:
        """The cases of seeds `seed`, `seed + 1`, ..."""
        while True:
            yield self.case(seed)
            seed += 1

    def case(self, seed: int) -> Case:
        """The case of `seed`: drawn again (from the same random stream) until valid."""
        rng = random.Random(seed)
        while True:
            self.drawn += 1
            draft = _Draft(self, rng)
            document = draft.document()
            problem = self.problem(document, draft.values)
            if problem is None:
                return Case(document, draft.values, rng.choice(self.viewers), seed)
            self.rejected += 1

    def problem(self, document: str, variables: dict[str, Any]) -> str | None:
        """Why `document` would not run (None: it is valid and within every limit)."""
        try:
            ast = parse(document, max_tokens=self.settings.max_tokens)
        except GraphQLError as error:
            return error.message
        errors = validate(self.schema, ast, self.rules)
        if errors:
            return errors[0].message
        if operation_cost(self.schema, ast, None, variables) > self.settings.max_cost:
            return "too costly"
        return None


@dataclass
class _Fragment:
    name: str
    on: GraphQLNamedType
    depth: int
    """The depth of the selection it was made for: it may be spread there or higher."""
    text: str = ""


class _Draft:
    """One document being drawn."""

    def __init__(self, generator: QueryGenerator, rng: random.Random) -> None:
        self.schema = generator.schema
        self.samples = generator.samples
        self.rng = rng
        self.max_depth = rng.choice((2, 3, 4, 5, 6, 7, 8, 10))
        self.fields_left = rng.randint(4, 45)
        self.definitions: list[str] = []
        self.values: dict[str, Any] = {}
        self.booleans: list[str] = []
        self.fragments: list[_Fragment] = []
        self.names = 0

    # -- the document -------------------------------------------------------------------------

    def document(self) -> str:
        query = self.schema.query_type
        assert query is not None
        selections = self.selection_set(query, 1)
        name = f" Q{self.rng.randint(1, 99)}" if self.rng.random() < 0.3 else ""
        variables = f"({', '.join(self.definitions)})" if self.definitions else ""
        operation = f"query{name}{variables} {selections}"
        if not name and not variables and self.rng.random() < 0.5:
            operation = selections  # the shorthand
        fragments = [fragment.text for fragment in self.fragments]
        self.rng.shuffle(fragments)  # fragments may be defined in any order
        return "\n".join([operation, *fragments])

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    # -- selections ---------------------------------------------------------------------------

    def selection_set(self, parent: GraphQLNamedType, depth: int) -> str:
        rng = self.rng
        items: list[str] = []
        taken: set[str] = set()
        if isinstance(parent, GraphQLInterfaceType | GraphQLUnionType):
            # Abstract: its own fields now and then, mostly fragments on several of its types.
            if rng.random() < 0.5:
                items.append(self.fields(parent, depth, taken))
            for _ in range(rng.randint(1, 3)):
                item = self.inline_fragment(parent, depth, typed=True)
                items.append(item)
            if rng.random() < 0.15:
                items.append(self.fragment_spread(parent, depth))
        else:
            for _ in range(rng.choice((1, 2, 2, 3, 3, 4, 5))):
                roll = rng.random()
                if roll < 0.06:
                    item = self.inline_fragment(parent, depth)
                elif roll < 0.12:
                    item = self.fragment_spread(parent, depth)
                else:
                    item = self.fields(parent, depth, taken)
                items.append(item)
        items = [item for item in items if item]
        if rng.random() < 0.15:
            items.insert(rng.randint(0, len(items)), self.typename())
        if not items:
            items.append(self.leaf_or_typename(parent))
        return "{ " + " ".join(items) + " }"

    def typename(self) -> str:
        alias = f"{self.fresh('t')}: " if self.rng.random() < 0.2 else ""
        return alias + "__typename" + self.directives()

    def leaf_or_typename(self, parent: GraphQLNamedType) -> str:
        leaves = [
            name
            for name, definition in _fields(parent).items()
            if is_leaf_type(get_named_type(definition.type))
            and not any(_required(argument) for argument in definition.args.values())
        ]
        return self.rng.choice(leaves) if leaves and self.rng.random() < 0.7 else "__typename"

    def fields(self, parent: GraphQLNamedType, depth: int, taken: set[str]) -> str:
        """One field of `parent` not `taken` yet in this selection set (now and then one that
        is), or several aliases of it with different arguments."""
        candidates = _fields(parent)
        names = [n for n in candidates if n not in taken or self.rng.random() < 0.1]
        weights = [self.weight(parent, name, candidates[name].type, depth) for name in names]
        if not any(weights):
            return ""
        name = self.rng.choices(names, weights)[0]
        taken.add(name)
        definition = candidates[name]
        copies = 1
        if definition.args and self.rng.random() < 0.2:
            copies = self.rng.randint(2, 3)
        items = [self.field(name, definition, depth, aliased=copies > 1) for _ in range(copies)]
        return " ".join(item for item in items if item)

    def weight(self, parent: GraphQLNamedType, name: str, field_type: Any, depth: int) -> float:
        named = get_named_type(field_type)
        if f"{parent.name}.{name}" in FIELD_WEIGHTS:
            return FIELD_WEIGHTS[f"{parent.name}.{name}"]
        if is_leaf_type(named):
            return 1.0
        if depth >= self.max_depth or self.fields_left <= 0:
            return 0.0
        if parent.name.endswith("Connection"):
            return 4.0  # `nodes` and `edges`: what the page holds
        if named.name.endswith("Connection"):
            return 3.0
        return 2.0

    def field(self, name: str, definition: Any, depth: int, *, aliased: bool = False) -> str:
        named = get_named_type(definition.type)
        leaf = is_leaf_type(named)
        if not leaf and (depth >= self.max_depth or self.fields_left <= 0):
            return ""
        self.fields_left -= 1
        alias = ""
        if aliased or self.rng.random() < (0.5 if definition.args else 0.1):
            alias = f"{self.fresh('a')}: "
        arguments = self.arguments(definition.args)
        text = f"{alias}{name}{arguments}{self.directives()}"
        if leaf:
            return text
        return f"{text} {self.selection_set(named, depth + 1)}"

    def inline_fragment(self, parent: GraphQLNamedType, depth: int, *, typed: bool = False) -> str:
        on = self.fragment_type(parent, untyped=not typed)
        condition = f" on {on.name}" if on is not None else ""
        body = self.selection_set(on or parent, depth)
        return f"...{condition}{self.directives()} {body}"

    def fragment_spread(self, parent: GraphQLNamedType, depth: int) -> str:
        usable = [
            fragment
            for fragment in self.fragments
            if fragment.text
            and fragment.depth >= depth
            and _overlap(self.schema, fragment.on, parent)
        ]
        if usable and self.rng.random() < 0.5:
            fragment = self.rng.choice(usable)
        else:
            on = self.fragment_type(parent, untyped=False)
            fragment = _Fragment(self.fresh("F"), on, depth)
            self.fragments.append(fragment)
            body = self.selection_set(on, depth)
            fragment.text = f"fragment {fragment.name} on {on.name} {body}"
        return f"...{fragment.name}{self.directives()}"

    def fragment_type(self, parent: GraphQLNamedType, *, untyped: bool) -> Any:
        """A type a fragment in `parent` may be on: mostly itself, or an interface of it, or
        one of its possible types (those with rows in the samples more often), or
        (`untyped`) none."""
        choices: list[Any] = [parent]
        weights = [3.0]
        if isinstance(parent, GraphQLObjectType):
            choices += list(parent.interfaces)
            weights += [1.0] * len(parent.interfaces)
        else:
            possible = list(self.schema.get_possible_types(parent))  # type: ignore[arg-type]
            choices += possible
            weights[0] = 1.0
            weights += [4.0 if t.name in self.samples.ids else 1.0 for t in possible]
        if untyped:
            choices.append(None)
            weights.append(1.0)
        return self.rng.choices(choices, weights)[0]

    def directives(self) -> str:
        """Now and then `@skip`, `@include` or both, each from a literal or a variable."""
        if self.rng.random() > 0.1:
            return ""
        names = self.rng.choice((("skip",), ("include",), ("skip", "include"), ("include", "skip")))
        return "".join(f" @{name}(if: {self.boolean()})" for name in names)

    def boolean(self) -> str:
        if self.rng.random() < 0.3:
            return self.rng.choice(("true", "false"))
        if self.booleans and self.rng.random() < 0.5:
            return "$" + self.rng.choice(self.booleans)
        name = self.fresh("b")
        self.booleans.append(name)
        self.definitions.append(f"${name}: Boolean!")
        self.values[name] = self.rng.random() < 0.5
        return "$" + name

    # -- arguments ----------------------------------------------------------------------------

    def arguments(self, arguments: dict[str, Any]) -> str:
        """The required arguments, the others now and then; a page where there are pages."""
        if not arguments:
            return ""
        given: dict[str, Any] = {}
        if "first" in arguments:
            given.update(self.page(set(arguments)))
        for name, argument in arguments.items():
            if name in PAGE_ARGUMENTS:
                continue
            if _required(argument) or self.rng.random() < 0.4:
                given[name] = self.value(argument.type, name, "")
        if not given:
            return ""
        texts = [
            f"{name}: {self.render(value, arguments[name].type, variable=0.3)}"
            for name, value in given.items()
        ]
        self.rng.shuffle(texts)
        return "(" + ", ".join(texts) + ")"

    def page(self, names: set[str]) -> dict[str, Any]:
        """`first`/`last` with `after`/`before`: mostly a valid page, now and then not."""
        rng = self.rng
        size = rng.choices(list(PAGES), list(PAGES.values()))[0]
        if rng.random() < ERROR_RATE:
            size = rng.choice(BAD_PAGES)
        roll = rng.random()
        if "last" not in names or roll < 0.15:
            return {} if roll < 0.05 and "last" in names else {"first": size}
        if roll < 0.55:
            return {"first": size} | ({"after": self.cursor()} if rng.random() < 0.3 else {})
        if roll < 0.85:
            return {"last": size} | ({"before": self.cursor()} if rng.random() < 0.4 else {})
        return rng.choice(
            (
                {"first": size, "last": size},
                {"after": self.cursor()},
                {"before": self.cursor(), "first": size},
                {"first": size, "after": None},
            )
        )

    def cursor(self) -> str | None:
        if self.rng.random() < ERROR_RATE * 2 or not self.samples.cursors:
            return self.rng.choice((*BAD_CURSORS, None))
        return self.rng.choice(self.samples.cursors)

    def value(self, value_type: GraphQLInputType, name: str, within: str) -> Any:
        """A value of `value_type` (as JSON: enums by name) for the argument or input field
        `name` of the input type `within` ("" for a field's argument)."""
        rng = self.rng
        if isinstance(value_type, GraphQLNonNull):
            return self.value(value_type.of_type, name, within)
        if isinstance(value_type, GraphQLList):
            if name == "ids":
                count = 101 if rng.random() < ERROR_RATE / 2 else rng.randint(0, 6)
            else:
                count = rng.randint(0, 3) if within else rng.randint(1, 2)
            return [self.value(value_type.of_type, name, within) for _ in range(count)]
        if isinstance(value_type, GraphQLEnumType):
            return rng.choice(list(value_type.values))
        if isinstance(value_type, GraphQLInputObjectType):
            return self.input_object(value_type)
        return self.scalar(value_type, name, within)

    def input_object(self, input_type: GraphQLInputObjectType) -> dict[str, Any]:
        """The required fields, a quarter of the others; a filter's `and`, `or` and `not`
        rarely, each spending the document's budget of fields (which bounds the nesting)."""
        values: dict[str, Any] = {}
        for name, input_field in input_type.fields.items():
            if name in ("and", "or", "not"):
                if self.fields_left < 0 or self.rng.random() > 0.08:
                    continue
                self.fields_left -= 3
            elif not _required(input_field) and self.rng.random() > 0.25:
                continue
            values[name] = self.value(input_field.type, name, input_type.name)
        return values

    def scalar(self, scalar_type: GraphQLScalarType, name: str, within: str) -> Any:
        rng = self.rng
        samples = self.samples
        kind = scalar_type.name
        if kind == "Boolean":
            return rng.random() < 0.5
        if kind == "Int":
            if within in ("NumberComparator", "NullableNumberComparator"):
                return rng.randint(0, 160)
            return rng.randint(0, 5)
        if kind == "Float":
            return rng.choice((0.0, 1.5, 1000.0))
        if kind == "DateTime":
            return rng.choice(DATE_TIMES)
        if kind == "Date":
            return rng.choice(DATES)
        if kind == "ID":
            return self.global_id(ID_TYPES_OF_INPUTS.get(within))
        # Strings, by what they name.
        if name == "slug":
            return rng.choice([*samples.slugs * 3, "nope", "ACME"])
        if name == "identifier":
            identifier = rng.choice(samples.identifiers or ["ENG-1"])
            return rng.choice(
                (identifier, identifier, identifier.lower(), "ENG-99999", "not an id", "")
            )
        if name in ("after", "before"):
            return self.cursor()
        if name == "since":
            stream = samples.stream_cursors or BAD_CURSORS
            return rng.choice((*stream, *stream, rng.choice(BAD_CURSORS)))
        if name == "query":
            return rng.choice((*SEARCHES, *samples.words[:20]))
        if name == "name" and not within:  # __type(name:)
            return rng.choice([*sorted(self.schema.type_map), "Nope"])
        words = samples.words or ["login"]
        return rng.choice((rng.choice(words), rng.choice(words).title(), "", "%", "_"))

    def global_id(self, type_name: str | None) -> str:
        rng = self.rng
        ids = self.samples.ids
        if rng.random() < ERROR_RATE * 2 or not ids:
            return rng.choice(BAD_IDS)
        if type_name is None or type_name not in ids or rng.random() < 0.1:
            type_name = rng.choice(sorted(ids))
        return rng.choice(ids[type_name])

    # -- values as literals or variables -------------------------------------------------------

    def render(self, value: Any, value_type: GraphQLInputType, *, variable: float) -> str:
        """`value` as a GraphQL literal of `value_type`, or, with the chance `variable`, as a
        variable of that type (its value given, or its default's, or none); nested values
        become variables now and then too."""
        rng = self.rng
        if variable and rng.random() < variable:
            return self.variable(value, value_type)
        inner = value_type.of_type if isinstance(value_type, GraphQLNonNull) else value_type
        if value is None:
            return "null"
        if isinstance(inner, GraphQLList):
            items = [self.render(item, inner.of_type, variable=variable / 3) for item in value]
            if len(items) == 1 and rng.random() < 0.3:
                return items[0]  # a list of one may be written as its item
            return "[" + ", ".join(items) + "]"
        if isinstance(inner, GraphQLInputObjectType):
            fields = [
                f"{name}: {self.render(item, inner.fields[name].type, variable=variable / 3)}"
                for name, item in value.items()
            ]
            return "{" + ", ".join(fields) + "}"
        if isinstance(inner, GraphQLEnumType):
            return str(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return json.dumps(value)
        return repr(value)

    def variable(self, value: Any, value_type: GraphQLInputType) -> str:
        rng = self.rng
        name = self.fresh("v")
        definition = f"${name}: {value_type}"
        roll = rng.random()
        if roll < 0.2 and value is not None:
            # A default: the value is left out, or another one is sent.
            definition += f" = {self.render(value, value_type, variable=0)}"
            if rng.random() < 0.5:
                self.values[name] = value
        elif roll < 0.25 and not isinstance(value_type, GraphQLNonNull):
            pass  # left out: the argument is absent, which is not the same as null
        else:
            self.values[name] = value
        self.definitions.append(definition)
        return "$" + name


def _fields(parent: GraphQLNamedType) -> dict[str, Any]:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        fields = dict(parent.fields)
        if parent.name == "Query":
            fields |= {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
        return fields
    return {}


def _required(argument_or_input_field: Any) -> bool:
    """Non-null without a default: it must be given."""
    return (
        isinstance(argument_or_input_field.type, GraphQLNonNull)
        and argument_or_input_field.default_value is Undefined
    )


def _overlap(schema: GraphQLSchema, on: GraphQLNamedType, parent: GraphQLNamedType) -> bool:
    """Whether a fragment on `on` may be spread where `parent` is selected."""
    return bool(_possible(schema, on) & _possible(schema, parent))


def _possible(schema: GraphQLSchema, named: GraphQLNamedType) -> set[str]:
    if isinstance(named, GraphQLObjectType):
        return {named.name}
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return {t.name for t in schema.get_possible_types(named)}
    return set()


def _add_once(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)
