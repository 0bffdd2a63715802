"""The `SearchResult` type: an issue found by `Workspace.search`, ranked and excerpted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db.search import MAX_QUERY_LENGTH, SnippetKey, search_ordering
from resolvers.context import Context
from resolvers.search import search_spec, snippet_html
from schema import refs
from schema.issues import Issue
from schema.pagination import Connection
from schema.relation_field import relation
from schema.relations import connections_of, nodes_at

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row


async def search_results(
    workspaces: Sequence[Any],
    context: Context,
    query: Annotated[
        str,
        strawberry.argument(
            description="What to look for, as typed in a search box: words (all must "
            'match, in any form: `crash` finds "crashes"), `"an exact phrase"`, `or`, '
            f"`-excluded`. At most {MAX_QUERY_LENGTH} characters; a blank query is an error."
        ),
    ],
    include_archived: Annotated[
        bool, strawberry.argument(description="Also search archived issues.")
    ] = False,
    first: Annotated[
        int | None,
        strawberry.argument(description="Results from the start: 50 unless given, at most 100."),
    ] = None,
    after: Annotated[
        str | None, strawberry.argument(description="Results after this cursor.")
    ] = None,
    last: Annotated[
        int | None, strawberry.argument(description="Results from the end, at most 100.")
    ] = None,
    before: Annotated[
        str | None, strawberry.argument(description="Results before this cursor.")
    ] = None,
) -> list[Connection[SearchResult]]:
    """The batch resolver of `Workspace.search`: one statement for every workspace of a level."""
    spec = search_spec(query, include_archived=include_archived)
    return await connections_of(
        [workspace.pk for workspace in workspaces],
        context.loaders.search_results_of_workspace,
        "search",
        search_ordering(),
        lambda row: SearchResult.from_row(row, spec.query),
        first=first,
        after=after,
        last=last,
        before=before,
        filter=spec,
    )


async def _snippets(results: list[SearchResult], context: Context) -> list[str | None]:
    headlines = await context.loaders.search_snippets.load_many(
        [SnippetKey(r.query, r.issue.pk, r.comment_id) for r in results]
    )
    return [snippet_html(h) if h is not None else None for h in headlines]


_comments = nodes_at(refs.Comment, "comment_id")


@strawberry.type(description="An issue matching a search: how well it matched, and where.")
class SearchResult:
    query: strawberry.Private[str]
    comment_id: strawberry.Private[int | None]
    issue: Issue = strawberry.field(description="The matching issue.")
    rank: float = strawberry.field(
        description="Relevance: higher is better. The same words weigh most in an issue's "
        "title, less in its description and least in a comment; more of them, and closer "
        "together, rank higher. Comparable only within one search."
    )

    @classmethod
    def from_row(cls, row: Row[Any], query: str) -> SearchResult:
        return cls(
            query=query,
            comment_id=row.matched_comment_id,
            issue=Issue.from_row(row),
            # The database ranks in single precision: 1.4, not 1.399999976158142 (the cursor
            # keeps the exact value). Rounding keeps the order.
            rank=float(f"{row.search_rank:.6g}"),
        )

    snippet = relation(
        _snippets,
        str | None,
        description="An excerpt of the best-matching text (the title, the description or "
        "the comment), safe to insert as HTML: the text is escaped and each matching word is "
        "wrapped in `<mark>`…`</mark>`. Fragments of a long text are joined by ` … `.",
    )

    comment = relation(
        _comments,
        refs.Comment | None,
        description="The comment that matched best, when the issue ranks by one of its "
        "comments rather than by its own title or description; null otherwise.",
    )
