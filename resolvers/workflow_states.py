"""Workflow state mutations (ADMIN+; see `resolvers.edits`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import UserErrorCode, user_error
from core.ids import to_global_id
from db import issues as issue_sql
from db import queries, writes
from db import workflow_states as state_sql
from db.activity import Change, issue_updated
from resolvers import edits
from resolvers.inputs import name_errors, not_found, reference_pks
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from resolvers.context import Context

STATES = edits.WorkspaceList(
    queries.workflow_states,
    "WorkflowState",
    "workflow_state",
    "workflow_state_by_id",
    "stateIds",
    "workflow_states",
)


STATE_DELETED = Returns()


async def workflow_state_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = edits.managed_workspace_id(context, input.workspace_id)
        name = input.name.strip()
        errors = name_errors(name, "name")
        if errors:
            return Done(Outcome(errors=errors))
        return await edits.create_last(
            context, journal, STATES, workspace_id, {"name": name, "type": input.type}
        )

    return await perform(context, "workflowStateCreate", input, STATES.returns, run)


async def workflow_state_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await edits.locked_in_scope(
            context, queries.workflow_states, input.id, "WorkflowState"
        )
        values = edits.given(input, "name", "type")
        errors = []
        if values.get("type", 0) is None:
            errors.append(user_error(UserErrorCode.INVALID_INPUT, "Cannot be null.", "type"))
        errors += await edits.new_name_errors(
            context, queries.workflow_states, current, values, earlier=errors
        )
        if errors:
            return Done(Outcome(errors=errors))
        return await edits.update_named(context, journal, STATES, current, values)

    return await perform(context, "workflowStateUpdate", input, STATES.returns, run)


async def workflow_state_delete(context: Context, input: Any) -> Outcome:
    """A state with issues is deleted only by moving them to another state of the workspace;
    the last state cannot go (new issues need one)."""

    async def run(journal: Journal) -> Done:
        current = await edits.locked_in_scope(
            context, queries.workflow_states, input.id, "WorkflowState", for_delete=True
        )
        db, workspace_id = context.db, current.workspace_id
        params = {"workspace_id": workspace_id, "target_id": current.id}
        # Every state of the workspace, locked: two deletes at once cannot both see "another
        # state remains".
        states = await db.fetch_all(writes.ids_in_order(queries.workflow_states), params)
        if len(states) <= 1:
            return Done(
                Outcome(
                    errors=[
                        user_error(
                            UserErrorCode.LAST_STATE, "A workspace keeps at least one state.", "id"
                        )
                    ]
                )
            )
        target = None
        if input.move_issues_to_id is not None:
            keys, _ = reference_pks([input.move_issues_to_id], "WorkflowState")
            found = (
                await db.fetch_all(issue_sql.states_in_workspace(), {**params, "ids": keys})
                if keys
                else []
            )
            if not found or keys[0] == current.id:
                return Done(Outcome(errors=[not_found("WorkflowState", "moveIssuesToId")]))
            target = keys[0]
        if target is None:
            if await db.scalar(state_sql.state_has_issues(), params):
                return Done(
                    Outcome(
                        errors=[
                            user_error(
                                UserErrorCode.STATE_IN_USE,
                                "Issues are in this state: give `moveIssuesToId`.",
                                "moveIssuesToId",
                            )
                        ]
                    )
                )
        else:
            await db.fetch_all(state_sql.lock_issues_in_state(), params)
            moved = await db.fetch_all(
                state_sql.move_issues_between_states(), {**params, "new_state_id": target}
            )
            for row in moved:
                journal.record(
                    issue_updated(workspace_id, row.id, "state", str(current.id), str(target))
                )
        await db.fetch_all(writes.delete_row(queries.workflow_states), params)
        journal.record(Change(workspace_id, "WorkflowState", current.id, "DELETED"))
        return Done(Outcome(deleted_workflow_state_id=to_global_id("WorkflowState", current.id)))

    return await perform(context, "workflowStateDelete", input, STATE_DELETED, run)


async def workflow_state_reorder(context: Context, input: Any) -> Outcome:
    return await edits.reorder(context, "workflowStateReorder", input, input.state_ids, STATES)
