"""The counters of `issue_counts` on real commits: many writers at once, a counter deleted at 0
while another transaction adds to it, and rolled-back writes. Each test ends with every counter
equal to `count(*)` of its issues (`tests.support.issue_counts.DRIFT`).

Writers are made to overlap by holding the race workspace's activity stream lock: each mutation
then waits at its last statement with its counter rows locked, and the next ones queue behind
those rows (`tests.support.races`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.support import races
from tests.support.actors import ADMIN, MEMBER
from tests.support.factories import RaceWorkspace, race_issue
from tests.support.graphql import data
from tests.support.ids import pk, to_global_id
from tests.support.issue_counts import COUNTERS, DRIFT, as_dict
from tests.support.races import hold_stream_lock, one_after_another, sql

CREATE = """mutation ($input: IssueCreateInput!) { issueCreate(input: $input) {
    issue { id } errors { code } } }"""
UPDATE = """mutation ($input: IssueUpdateInput!) { issueUpdate(input: $input) {
    issue { id } errors { code } } }"""
ARCHIVE = (
    """mutation ($id: ID!) { issueArchive(input: {id: $id}) { issue { id } errors { code } } }"""
)
DELETE = (
    """mutation ($id: ID!) { issueDelete(input: {id: $id}) { deletedIssueId errors { code } } }"""
)
BATCH = """mutation ($input: IssueBatchUpdateInput!) { issueBatchUpdate(input: $input) {
    issues { id } errors { code } } }"""


async def drift(race: RaceWorkspace) -> list[Any]:
    return await sql(race.database, DRIFT)


async def counters_of(race: RaceWorkspace) -> dict[tuple[Any, ...], int]:
    rows = await sql(race.database, COUNTERS + " WHERE workspace_id = :w", w=race.workspace)
    return as_dict(rows)


async def add_state(race: RaceWorkspace, name: str, position: int) -> str:
    return to_global_id(
        "WorkflowState", await races.add_state(race.database, race.workspace, name, position)
    )


async def add_members(race: RaceWorkspace, *emails: str) -> list[str]:
    rows = await sql(
        race.database,
        "INSERT INTO memberships (workspace_id, user_id, role) "
        "SELECT :w, id, 'MEMBER' FROM users WHERE email = ANY(:e) RETURNING user_id",
        w=race.workspace,
        e=list(emails),
    )
    return [to_global_id("User", row[0]) for row in rows]


async def state_of(race: RaceWorkspace, name: str) -> str:
    return to_global_id("WorkflowState", await races.state_id(race.database, race.workspace, name))


async def mutate(race: RaceWorkspace, document: str, variables: dict[str, Any]) -> None:
    (payload,) = (await data(race.client, document, variables)).values()
    assert not payload["errors"], payload


async def test_many_writers_at_once_keep_every_counter_exact(race):
    todo = await state_of(race, "Todo")
    doing, review = await add_state(race, "Doing", 1), await add_state(race, "Review", 2)
    ada, max_ = await add_members(race, ADMIN, MEMBER)
    issues = [await race_issue(race, f"#{n}") for n in range(10)]
    # Spread over keys, so that the writers below cross from key to key in every direction.
    for issue, state, assignee in zip(
        issues, [todo, doing, review] * 4, [None, ada, max_, ada, None] * 2, strict=False
    ):
        await mutate(
            race, UPDATE, {"input": {"id": issue, "stateId": state, "assigneeId": assignee}}
        )

    def update(issue: str, **changes: Any) -> Any:
        return mutate(race, UPDATE, {"input": {"id": issue, **changes}})

    def create(state: str, assignee: str | None) -> Any:
        issue = {"projectId": race.project, "title": "new", "stateId": state}
        return mutate(race, CREATE, {"input": {**issue, "assigneeId": assignee}})

    writes = [
        update(issues[0], stateId=doing),  # todo -> doing
        update(issues[1], stateId=todo),  # doing -> todo: the same two counters, other way
        update(issues[2], stateId=doing, assigneeId=ada),
        update(issues[3], assigneeId=None),
        create(todo, None),
        create(doing, ada),
        mutate(race, ARCHIVE, {"id": issues[4]}),
        mutate(race, DELETE, {"id": issues[5]}),
        update(issues[6], stateId=todo, assigneeId=max_),
        update(issues[7], stateId=review),
        mutate(race, DELETE, {"id": issues[8]}),
        create(review, max_),
    ]
    holder = await hold_stream_lock(race.database, race.workspace)

    await one_after_another(race.database, holder, *writes)

    assert await drift(race) == []
    counted = await counters_of(race)
    assert sum(counted.values()) == 10 + 3 - 2
    assert sum(n for key, n in counted.items() if key[4]) == 1  # the archived one


async def test_a_counter_deleted_at_zero_while_another_writer_adds_to_it(race):
    todo = await state_of(race, "Todo")
    doing = await add_state(race, "Doing", 1)
    (ada,) = await add_members(race, ADMIN)
    alone = await race_issue(race, "alone in todo, unassigned")
    other = await race_issue(race, "to be assigned")
    await mutate(race, UPDATE, {"input": {"id": other, "assigneeId": ada}})
    holder = await hold_stream_lock(race.database, race.workspace)

    await one_after_another(
        race.database,
        holder,
        # Takes the (todo, unassigned) counter from 1 to 0 and deletes it, not yet committed...
        mutate(race, UPDATE, {"input": {"id": alone, "stateId": doing}}),
        # ...while this one adds to it: it waits, then finds no row and inserts one.
        mutate(race, CREATE, {"input": {"projectId": race.project, "title": "n", "stateId": todo}}),
        # And the other way: a counter inserted, not yet committed, that a move adds to.
        mutate(
            race,
            CREATE,
            {
                "input": {
                    "projectId": race.project,
                    "title": "m",
                    "stateId": doing,
                    "assigneeId": ada,
                }
            },
        ),
        mutate(race, UPDATE, {"input": {"id": other, "stateId": doing}}),
    )

    assert await drift(race) == []
    assert sorted((await counters_of(race)).values()) == [1, 1, 2]


async def test_rolled_back_writes_leave_the_counters_as_they_were(race):
    doing = await add_state(race, "Doing", 1)
    issues = [await race_issue(race, f"#{n}") for n in range(3)]
    before = await counters_of(race)
    handle = race.database.request_handle()
    try:
        await handle.fetch_all(
            text("UPDATE issues SET state_id = :s WHERE id = :i").bindparams(
                s=pk(doing), i=pk(issues[0])
            )
        )
        await handle.fetch_all(text("DELETE FROM issues WHERE id = :i").bindparams(i=pk(issues[1])))
        moved = await handle.fetch_all(
            text(COUNTERS + " WHERE workspace_id = :w").bindparams(w=race.workspace)
        )
        assert as_dict(moved) != before  # seen inside the transaction...
    finally:
        await handle.close()  # ...and rolled back with it
    # A batch whose second issue fails rolls back the first one's move too.
    failed = await data(
        race.client,
        BATCH,
        {
            "input": {
                "ids": [issues[0], issues[2]],
                "changes": {"stateId": doing, "parentId": issues[2]},
            }
        },
    )

    assert [e["code"] for e in failed["issueBatchUpdate"]["errors"]] == ["CYCLE"]
    assert await counters_of(race) == before
    assert await drift(race) == []
