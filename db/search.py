"""Full-text search over issues and their comments: PostgreSQL's tsvector, GIN indexes, ranking.

Both tables keep a generated `search_vector` (migration 0005): an issue's title weighs A and its
description B; a comment's body carries no weight, which PostgreSQL reads as D. `ts_rank_cd`
with the default weights `{D 0.1, C 0.2, B 0.4, A 1.0}` therefore ranks, for the same words, a
title above a description above a comment. An issue ranks by the best of its own match and its
comments' matches, and appears once.

The list is a relation of the workspace (`issues.workspace_id`), so it is paged and counted by
`db.pagination` like every other list: keyset pages on `(rank DESC, issue id)`, one statement per
batch of workspaces, the user's words a bind parameter of statements built once per shape.
Snippets (`ts_headline`, which re-parses each text) are a second statement, for the page's rows
only, and only when asked for.

    >>> spec = SearchSpec("login timeout", include_archived=False)
    >>> spec.params()
    {'search_query': 'login timeout'}
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Text,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, TSQUERY, distinct_on

from db import queries
from db.models import SEARCH_CONFIGURATION
from db.pagination import BATCH_PARENTS, SortKey, shaped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import CTE, ColumnElement, CompoundSelect, Select

    from db.pagination import Ordering
    from db.session import RequestDatabase

issues, comments, projects = queries.issues, queries.comments, queries.projects

MAX_QUERY_LENGTH = 256
"""Longer queries are refused: a search box never needs more, and parsing is linear in it."""

HIGHLIGHT_START = "\ue000"
HIGHLIGHT_STOP = "\ue001"
"""What `ts_headline` puts around matched words: private-use characters, removed from the text
beforehand, so that only the database's markers become `<mark>` once the text is HTML-escaped."""

_TITLE_HEADLINE = f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, HighlightAll=true"
_TEXT_HEADLINE = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, "
    'MaxWords=20, MinWords=8, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "'
)

_QUERY = bindparam("search_query", type_=Text)
_CONFIGURATION: ColumnElement[Any] = literal_column(f"'{SEARCH_CONFIGURATION}'::regconfig")


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """What to search for: the statement's shape and its values, like `IssueFilter`.

    Hashable, so equal searches of several workspaces batch into one statement.
    """

    query: str
    include_archived: bool = False

    @property
    def shape(self) -> tuple[Any, ...]:
        return (self.include_archived,)

    def params(self) -> dict[str, Any]:
        return {"search_query": self.query}

    def apply(self, select: Select[Any]) -> Select[Any]:
        if self.include_archived:
            return select
        return select.where(issues.c.archived_at.is_(None))


def _parsed_query() -> CTE:
    """The user's words as a tsquery, parsed once per statement. `websearch_to_tsquery` takes
    what people type into a search box (`"exact phrase"`, `or`, `-excluded`) and never fails
    on syntax; words that are all stop words give an empty query, which matches nothing."""
    return select(
        func.websearch_to_tsquery(_CONFIGURATION, _QUERY, type_=TSQUERY).label("query")
    ).cte("parsed_query")


def _rank(vector: ColumnElement[Any], query: ColumnElement[Any]) -> ColumnElement[float]:
    # Double precision, so that a cursor's rank (a JSON number) compares exactly equal.
    return cast(func.ts_rank_cd(vector, query), DOUBLE_PRECISION)


def _matches(table: Any, query: ColumnElement[Any]) -> ColumnElement[bool]:
    """`vector @@ query` within the viewer's scope and the batch's workspaces (GIN index)."""
    condition: ColumnElement[bool] = (
        table.c.search_vector.bool_op("@@")(query)
        & queries.in_scope(table.c.workspace_id)
        & (table.c.workspace_id == any_(BATCH_PARENTS))
    )
    return condition


@dataclass(frozen=True, slots=True)
class _RankedList:
    query: Select[Any]
    ordering: Ordering


@cache
def _ranked_list() -> _RankedList:
    parsed = _parsed_query()
    matches = union_all(
        select(
            issues.c.id.label("issue_id"),
            _rank(issues.c.search_vector, parsed.c.query).label("rank"),
            cast(null(), BigInteger).label("comment_id"),
        ).where(_matches(issues, parsed.c.query)),
        select(
            comments.c.issue_id,
            _rank(comments.c.search_vector, parsed.c.query),
            comments.c.id,
        ).where(_matches(comments, parsed.c.query)),
    ).subquery("matches")
    # Each issue once, at its best match; on a tie its own text wins over a comment.
    best = (
        select(matches)
        .ext(distinct_on(matches.c.issue_id))
        .order_by(
            matches.c.issue_id, matches.c.rank.desc(), matches.c.comment_id.asc().nulls_first()
        )
        .subquery("best_matches")
    )
    query = (
        select(
            *queries.ISSUE_COLUMNS,
            best.c.rank.label("search_rank"),
            best.c.comment_id.label("matched_comment_id"),
        )
        .select_from(
            best.join(issues, issues.c.id == best.c.issue_id).join(
                projects, projects.c.id == issues.c.project_id
            )
        )
        .where(queries.in_scope(issues.c.workspace_id))
    )
    ordering = (
        SortKey("search_rank", best.c.rank, float, descending=True),
        SortKey("id", issues.c.id, int),
    )
    return _RankedList(query, ordering)


def ranked_issues() -> Select[Any]:
    """Matching issues with `search_rank` and `matched_comment_id` (null for the issue's own
    text); parameters `search_query`, the scope's and `batch_parents` (workspace ids)."""
    return _ranked_list().query


def search_ordering() -> Ordering:
    """Best first, then by id: the order of `ranked_issues`, which its cursors encode."""
    return _ranked_list().ordering


@cache
def matching_issues() -> Select[Any]:
    """The issues `ranked_issues` lists, unranked: for counting them."""
    parsed = _parsed_query()
    matched = union(
        select(issues.c.id.label("issue_id")).where(_matches(issues, parsed.c.query)),
        select(comments.c.issue_id).where(_matches(comments, parsed.c.query)),
    ).subquery("matched")
    return (
        select(issues.c.id)
        .select_from(matched.join(issues, issues.c.id == matched.c.issue_id))
        .where(queries.in_scope(issues.c.workspace_id))
    )


# Snippets.


@dataclass(frozen=True, slots=True)
class SnippetKey:
    """The text of a search result to excerpt: a comment's body when the issue matched through
    `comment_id`, else the better matching of the issue's title and description."""

    query: str
    issue_id: int
    comment_id: int | None


def _without_markers(text: ColumnElement[str]) -> ColumnElement[str]:
    return func.translate(text, literal(HIGHLIGHT_START + HIGHLIGHT_STOP, Text), literal("", Text))


def _headline(text: ColumnElement[str], query: ColumnElement[Any], options: Any) -> Any:
    return func.ts_headline(_CONFIGURATION, _without_markers(text), query, options, type_=Text)


def _weighted_rank(text: ColumnElement[str], weight: str, query: ColumnElement[Any]) -> Any:
    vector = func.setweight(func.to_tsvector(_CONFIGURATION, text), literal_column(f"'{weight}'"))
    return func.ts_rank_cd(vector, query)


@cache
def _snippets_statement() -> CompoundSelect[Any]:
    parsed = _parsed_query()
    query = parsed.c.query
    title_is_best = _weighted_rank(issues.c.title, "A", query) >= _weighted_rank(
        issues.c.description, "B", query
    )
    issue_snippets = select(
        issues.c.id.label("issue_id"),
        cast(null(), BigInteger).label("comment_id"),
        case(
            (title_is_best, _headline(issues.c.title, query, literal(_TITLE_HEADLINE, Text))),
            else_=_headline(issues.c.description, query, literal(_TEXT_HEADLINE, Text)),
        ).label("snippet"),
    ).where(
        issues.c.id == any_(bindparam("snippet_issue_ids", type_=ARRAY(BigInteger))),
        queries.in_scope(issues.c.workspace_id),
    )
    comment_snippets = select(
        comments.c.issue_id,
        comments.c.id,
        _headline(comments.c.body, query, literal(_TEXT_HEADLINE, Text)),
    ).where(
        comments.c.id == any_(bindparam("snippet_comment_ids", type_=ARRAY(BigInteger))),
        queries.in_scope(comments.c.workspace_id),
    )
    return union_all(issue_snippets, comment_snippets)


async def load_snippets(
    db: RequestDatabase, scope: dict[str, Any], keys: Sequence[SnippetKey]
) -> list[str | None]:
    """Raw headlines (matches between `HIGHLIGHT_START` and `HIGHLIGHT_STOP`, text unescaped),
    one statement per distinct query; null for a text the viewer may not see."""
    by_query: dict[str, list[SnippetKey]] = defaultdict(list)
    for key in keys:
        by_query[key.query].append(key)
    statement = shaped(("search snippets",), _snippets_statement)
    found: dict[SnippetKey, str] = {}
    for query, wanted in by_query.items():
        params = {
            **scope,
            "search_query": query,
            "snippet_issue_ids": sorted({k.issue_id for k in wanted if k.comment_id is None}),
            "snippet_comment_ids": sorted({k.comment_id for k in wanted if k.comment_id}),
        }
        for row in await db.fetch_all(statement, params):
            found[SnippetKey(query, row.issue_id, row.comment_id)] = row.snippet
    return [found.get(key) for key in keys]
