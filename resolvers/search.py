"""Searching a workspace: what a query may be, and snippets made safe to render as HTML."""

from __future__ import annotations

import html

from core.errors import BadUserInputError
from core.text import unstorable_text
from db.search import HIGHLIGHT_START, HIGHLIGHT_STOP, MAX_QUERY_LENGTH, SearchSpec


def search_spec(query: str, *, include_archived: bool) -> SearchSpec:
    """The search for `query`, refused when blank or longer than `MAX_QUERY_LENGTH`.

    >>> search_spec("  login   timeout ", include_archived=False).query
    'login timeout'
    """
    # NUL cannot be sent to PostgreSQL in text; other whitespace means nothing to the parser.
    words = " ".join(query.replace("\x00", " ").split())
    problem = unstorable_text(words)
    if problem is not None:
        raise BadUserInputError(f"A search {problem}.", argument="query")
    if not words:
        raise BadUserInputError("Type something to search for.", argument="query")
    if len(words) > MAX_QUERY_LENGTH:
        raise BadUserInputError(
            f"A search may be at most {MAX_QUERY_LENGTH} characters long.",
            argument="query",
            limit=MAX_QUERY_LENGTH,
        )
    return SearchSpec(words, include_archived=include_archived)


def snippet_html(headline: str) -> str:
    """A headline from `db.search` as HTML: the text escaped, matches in `<mark>`, runs of
    whitespace (line breaks, tags the headline dropped) as one space.

    >>> snippet_html(" a <b>\\n \\ue000login\\ue001 & more")
    'a &lt;b&gt; <mark>login</mark> &amp; more'
    """
    return (
        html.escape(" ".join(headline.split()), quote=True)
        .replace(HIGHLIGHT_START, "<mark>")
        .replace(HIGHLIGHT_STOP, "</mark>")
    )
