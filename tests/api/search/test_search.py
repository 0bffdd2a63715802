"""`Workspace.search`: ranking, snippets, scoping, archived issues, pagination, statement counts.

Rows are inserted with SQL on the test's connection (rolled back after each test), with words
the demo data never uses, so each test knows exactly what should match.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from auth.policies import read_scope
from auth.viewer import Viewer
from core.enums import Role
from core.ids import to_global_id
from db.loaders import CountKey, Loaders, PageKey
from db.pagination import PageArgs
from db.search import SearchSpec, SnippetKey, search_ordering
from db.session import Database
from tests.support.actors import MEMBER, OWNER, STRANGER
from tests.support.factories import ACME, GLOBEX_PK

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

SEARCH = """
query Search($slug: String!, $q: String!, $first: Int, $after: String, $archived: Boolean) {
  workspace(slug: $slug) {
    search(query: $q, first: $first, after: $after, includeArchived: $archived) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { rank snippet issue { identifier title } comment { body } } }
    }
  }
}
"""


async def add_issue(
    connection: AsyncConnection,
    title: str,
    description: str = "",
    *,
    workspace: str = "acme",
    archived: bool = False,
    comments: tuple[str, ...] = (),
) -> str:
    """An issue (and its comments) in the first project of `workspace`; its identifier."""
    row = (
        await connection.execute(
            text(
                """
                WITH project AS (
                  SELECT p.id, p.workspace_id, p.key FROM projects p
                  JOIN workspaces w ON w.id = p.workspace_id WHERE w.slug = :workspace
                  ORDER BY p.id LIMIT 1)
                INSERT INTO issues
                  (workspace_id, project_id, number, title, description, state_id, archived_at)
                SELECT project.workspace_id, project.id,
                  (SELECT coalesce(max(number), 0) + 1 FROM issues WHERE project_id = project.id),
                  :title, :description,
                  (SELECT id FROM workflow_states s WHERE s.workspace_id = project.workspace_id
                   ORDER BY position LIMIT 1),
                  CASE WHEN :archived THEN now() END
                FROM project
                RETURNING id, workspace_id, number,
                  (SELECT key FROM project) AS key
                """
            ),
            {
                "workspace": workspace,
                "title": title,
                "description": description,
                "archived": archived,
            },
        )
    ).one()
    for body in comments:
        await connection.execute(
            text(
                "INSERT INTO comments (workspace_id, issue_id, body, author_id) "
                "VALUES (:w, :i, :b, (SELECT id FROM users WHERE email = :author))"
            ),
            {"w": row.workspace_id, "i": row.id, "b": body, "author": OWNER},
        )
    return f"{row.key}-{row.number}"


def results(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in body, body["errors"]
    return [edge["node"] for edge in body["data"]["workspace"]["search"]["edges"]]


def identifiers(body: dict[str, Any]) -> list[str]:
    return [node["issue"]["identifier"] for node in results(body)]


async def test_title_outranks_description_outranks_comment(gql, connection):
    in_comment = await add_issue(connection, "Unrelated one", comments=("We saw a quokka.",))
    in_description = await add_issue(connection, "Unrelated two", "A quokka got in.")
    in_title = await add_issue(connection, "Quokka in the server room")

    body = await gql(SEARCH, {"slug": "acme", "q": "quokka"})

    assert identifiers(body) == [in_title, in_description, in_comment]
    ranks = [node["rank"] for node in results(body)]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == 3
    assert [node["comment"] for node in results(body)] == [None, None, {"body": "We saw a quokka."}]
    assert body["data"]["workspace"]["search"]["totalCount"] == 3


async def test_more_matching_terms_rank_higher(gql, connection):
    one_term = await add_issue(connection, "A quokka alone")
    both_terms = await add_issue(connection, "A quokka and a wombat")
    repeated = await add_issue(connection, "Wombat", "wombat wombat wombat wombat")

    either = identifiers(await gql(SEARCH, {"slug": "acme", "q": "quokka or wombat"}))
    assert either.index(both_terms) < either.index(one_term)

    wombat = identifiers(await gql(SEARCH, {"slug": "acme", "q": "wombat"}))
    assert wombat == [repeated, both_terms]


async def test_an_issue_appears_once_at_its_best_match(gql, connection):
    issue = await add_issue(
        connection, "Quokka sightings", "A quokka.", comments=("quokka", "another quokka")
    )

    body = await gql(SEARCH, {"slug": "acme", "q": "quokka"})

    assert identifiers(body) == [issue]
    assert results(body)[0]["comment"] is None  # the title matched best


async def test_words_match_in_any_form_and_queries_read_like_a_search_box(gql, connection):
    crashes = await add_issue(connection, "Quokkas crashing the uploader")
    other = await add_issue(connection, "Quokka feeding schedule")

    assert identifiers(await gql(SEARCH, {"slug": "acme", "q": "quokka crash"})) == [crashes]
    assert identifiers(await gql(SEARCH, {"slug": "acme", "q": "quokka -crash"})) == [other]
    assert identifiers(await gql(SEARCH, {"slug": "acme", "q": '"feeding schedule'})) == [other]
    # Stop words alone parse to an empty query: nothing matches, nothing fails.
    body = await gql(SEARCH, {"slug": "acme", "q": "the and of"})
    assert results(body) == [] and body["data"]["workspace"]["search"]["totalCount"] == 0


async def test_snippets_are_html_escaped_with_marked_matches(gql, connection):
    await add_issue(
        connection,
        "Unrelated",
        'Steps: <script>alert("x")</script> then 1 < 2 & \ue000the quokka "escapes".',
        comments=(),
    )
    await add_issue(connection, "Other", comments=("<b>bold</b> quokka & co",))

    body = await gql(SEARCH, {"slug": "acme", "q": "quokka"})

    snippets = [node["snippet"] for node in results(body)]
    assert len(snippets) == 2
    for snippet in snippets:
        assert "<mark>quokka</mark>" in snippet
        assert "&amp;" in snippet
        assert "<" not in re.sub(r"</?mark>", "", snippet), snippet
        assert ">" not in re.sub(r"</?mark>", "", snippet), snippet
        assert snippet.count("<mark>") == snippet.count("</mark>") == 1
    assert "alert(&quot;x&quot;) then 1 &lt; 2 &amp; the <mark>quokka</mark>" in snippets[0]
    assert snippets[1] == "bold <mark>quokka</mark> &amp; co"


async def test_a_title_snippet_highlights_the_title(gql, connection):
    await add_issue(connection, "The quokka & the wombat")

    (node,) = results(await gql(SEARCH, {"slug": "acme", "q": "wombat"}))

    assert node["snippet"] == "The quokka &amp; the <mark>wombat</mark>"


async def test_archived_issues_are_left_out_unless_asked(gql, connection):
    live = await add_issue(connection, "Quokka live")
    archived = await add_issue(connection, "Quokka archived", archived=True)
    await add_issue(connection, "Archived too", archived=True, comments=("quokka",))

    default = await gql(SEARCH, {"slug": "acme", "q": "quokka"})
    everything = await gql(SEARCH, {"slug": "acme", "q": "quokka", "archived": True})

    assert identifiers(default) == [live]
    assert default["data"]["workspace"]["search"]["totalCount"] == 1
    assert set(identifiers(everything)) >= {live, archived}
    assert everything["data"]["workspace"]["search"]["totalCount"] == 3


async def test_a_member_never_sees_another_workspaces_matches(gql_as, connection):
    acme = await add_issue(connection, "Quokka in acme", comments=("quokka",))
    globex = await add_issue(connection, "Quokka in globex", workspace="globex")
    await add_issue(connection, "Globex comment", workspace="globex", comments=("quokka",))

    as_member = await gql_as(MEMBER)(SEARCH, {"slug": "acme", "q": "quokka"})
    # The owner belongs to both workspaces: each search stays within its own.
    in_acme = await gql_as(OWNER)(SEARCH, {"slug": "acme", "q": "quokka"})
    in_globex = await gql_as(OWNER)(SEARCH, {"slug": "globex", "q": "quokka"})
    stranger = await gql_as(STRANGER)(SEARCH, {"slug": "acme", "q": "quokka"})
    member_in_globex = await gql_as(MEMBER)(SEARCH, {"slug": "globex", "q": "quokka"})

    assert identifiers(as_member) == identifiers(in_acme) == [acme]
    assert identifiers(in_globex)[0] == globex and acme not in identifiers(in_globex)
    assert in_globex["data"]["workspace"]["search"]["totalCount"] == 2
    assert stranger == {"data": {"workspace": None}}
    assert member_in_globex == {"data": {"workspace": None}}


async def test_seeded_words_shared_by_both_workspaces_stay_in_theirs(gql_as, connection):
    query = """query ($slug: String!) { workspace(slug: $slug) {
        search(query: "login", first: 100) {
          totalCount nodes { issue { workspace { slug } } } } } }"""
    expected = {
        row.slug: row.total
        for row in await connection.execute(
            text(
                """SELECT w.slug, count(*) AS total FROM issues i JOIN workspaces w
                ON w.id = i.workspace_id WHERE i.archived_at IS NULL AND (
                  i.search_vector @@ websearch_to_tsquery('english', 'login') OR EXISTS (
                    SELECT 1 FROM comments c WHERE c.issue_id = i.id
                    AND c.search_vector @@ websearch_to_tsquery('english', 'login')))
                GROUP BY w.slug"""
            )
        )
    }
    assert expected["acme"] > 0 and expected["globex"] > 0  # the probe is meaningful

    for viewer, slug in ((OWNER, "acme"), (OWNER, "globex"), (STRANGER, "globex")):
        found = (await gql_as(viewer)(query, {"slug": slug}))["data"]["workspace"]["search"]
        assert found["totalCount"] == expected[slug]
        assert {node["issue"]["workspace"]["slug"] for node in found["nodes"]} == {slug}


async def test_the_sql_is_scoped_to_the_viewers_workspaces(connection):
    """Beneath the schema (where only members reach a workspace), the statements themselves
    return nothing of a workspace outside the viewer's scope."""
    globex = await add_issue(connection, "Quokka in globex", workspace="globex", comments=("x",))
    issue_id = await connection.scalar(
        text("SELECT id FROM issues WHERE title = 'Quokka in globex'")
    )
    member = await connection.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": MEMBER})
    db = Database.sharing(connection).request_handle()
    try:
        loaders = Loaders(db, read_scope(Viewer(member, {1: Role.MEMBER})))
        spec = SearchSpec("quokka")
        page = await loaders.search_results_of_workspace.pages.load(
            PageKey(2, search_ordering(), PageArgs(limit=10), spec)
        )
        total = await loaders.search_results_of_workspace.counts.load(CountKey(2, spec))
        snippet = await loaders.search_snippets.load(SnippetKey("quokka", issue_id, None))
    finally:
        await db.close()
    assert globex.startswith("GLX-")
    assert page.rows == [] and total == 0 and snippet is None


async def test_pages_follow_one_another_without_duplicates(gql, connection):
    created = [
        await add_issue(
            connection, f"Quokka {n}", "quokka " * (n % 3), comments=("quokka",) * (n % 2)
        )
        for n in range(12)
    ]
    seen: list[str] = []
    ranks: list[float] = []
    after = None
    while True:
        body = await gql(SEARCH, {"slug": "acme", "q": "quokka", "first": 5, "after": after})
        seen += identifiers(body)
        ranks += [node["rank"] for node in results(body)]
        page = body["data"]["workspace"]["search"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))
    assert ranks == sorted(ranks, reverse=True)
    assert len(set(ranks)) > 1  # ties and distinct ranks both cross page boundaries


async def test_backward_pages_mirror_forward_ones(gql, connection):
    for n in range(6):
        await add_issue(connection, f"Quokka {n}", "quokka " * n)
    query = """query ($before: String) { workspace(slug: "acme") {
        search(query: "quokka", last: 3, before: $before) {
        pageInfo { hasPreviousPage startCursor } nodes { issue { identifier } } } } }"""
    forward = identifiers(await gql(SEARCH, {"slug": "acme", "q": "quokka", "first": 6}))

    last_page = (await gql(query))["data"]["workspace"]["search"]
    previous = (await gql(query, {"before": last_page["pageInfo"]["startCursor"]}))["data"][
        "workspace"
    ]["search"]

    backward = [n["issue"]["identifier"] for n in previous["nodes"] + last_page["nodes"]]
    assert backward == forward
    assert last_page["pageInfo"]["hasPreviousPage"] and not previous["pageInfo"]["hasPreviousPage"]


@pytest.mark.parametrize("query", ["", "   ", "x" * 257])
async def test_blank_or_overlong_queries_are_bad_user_input(gql, query):
    body = await gql(SEARCH, {"slug": "acme", "q": query})

    assert body["data"] == {"workspace": None}
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["path"] == ["workspace", "search"]


async def test_a_cursor_of_another_list_is_refused(gql):
    listed = await gql('{ workspace(slug: "acme") { issues(first: 1) { edges { cursor } } } }')
    cursor = listed["data"]["workspace"]["issues"]["edges"][0]["cursor"]

    body = await gql(SEARCH, {"slug": "acme", "q": "login", "after": cursor})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("first", [1, 20])
async def test_statement_count_is_constant_in_page_size(gql, connection, statements, first):
    for n in range(20):
        await add_issue(connection, f"Issue {n}", comments=(f"a quokka, number {n}",))
    statements.statements.clear()
    query = """query ($first: Int!) { workspace(slug: "acme") {
        search(query: "quokka", first: $first) { totalCount nodes {
          rank snippet comment { body author { name } }
          issue { identifier state { name } } } } } }"""

    body = await gql(query, {"first": first})

    assert "errors" not in body
    nodes = body["data"]["workspace"]["search"]["nodes"]
    assert len(nodes) == first and all(node["comment"] for node in nodes)
    # Viewer, workspace, the page of results, their count, snippets, comments, comment
    # authors, issue states.
    assert statements.count == 8, statements.statements


async def test_workspaces_of_one_level_are_searched_in_one_statement(gql, statements):
    both = """query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Workspace { slug
        search(query: "login", first: 4) { totalCount nodes { rank issue { identifier } } } } } }"""
    one = """query ($slug: String!) { workspace(slug: $slug) {
        search(query: "login", first: 4) { totalCount nodes { rank issue { identifier } } } } }"""
    ids = [ACME, to_global_id("Workspace", GLOBEX_PK)]

    statements.statements.clear()
    together = (await gql(both, {"ids": ids}))["data"]["nodes"]
    searches = [s for s in statements.statements if "parsed_query" in s]
    alone = [(await gql(one, {"slug": node["slug"]}))["data"]["workspace"] for node in together]

    assert [node["slug"] for node in together] == ["acme", "globex"]
    assert [{"search": node["search"]} for node in together] == alone
    assert len(searches) == 2  # one page statement and one count statement for both
