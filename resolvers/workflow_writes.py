"""Projects, labels and workflow states: what shapes everyone's work, so ADMIN and up only.

A target the viewer cannot see is NOT_FOUND; a visible one their role may not change is
FORBIDDEN. Unique names and keys are checked first for a clear error, and the database's unique
constraints settle races (a concurrent create with the same name gets the same error).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import strawberry

from auth import policies
from core.errors import ForbiddenError, NotFoundError, UserError, UserErrorCode, user_error
from core.ids import to_global_id
from db import queries
from db import tracker_writes as writes
from db.activity import Change, logged
from resolvers.guards import visible_workspace_id
from resolvers.inputs import body_errors, name_errors, not_found, reference_pks, target_pk
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from sqlalchemy import Table

    from resolvers.context import Context

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
COLOR = re.compile(r"^#[0-9a-f]{6}$")
MAX_PROJECT_NAME = 200
_FIELD_NAMES = {"lead_id": "lead"}

PROJECT = Returns("project", "project_by_id")
LABEL = Returns("label", "label_by_id")
LABEL_DELETED = Returns()
LABELS_REORDERED = Returns()
STATE = Returns("workflow_state", "workflow_state_by_id")
STATE_DELETED = Returns()
STATES_REORDERED = Returns()


def _require_manager(context: Context, workspace_id: int) -> None:
    if not policies.can_manage_workflow(context.viewer, workspace_id):
        raise ForbiddenError("Your role in this workspace may not change that.")


async def _locked(context: Context, statement: Any, global_id: str, type_name: str) -> Any:
    row = await context.db.fetch_one(
        statement,
        {**context.loaders.scope_params, "target_id": target_pk(global_id, type_name)},
    )
    if row is None:
        raise NotFoundError(f"{type_name} not found.")
    _require_manager(context, row.workspace_id)
    return row


def _given(input: Any, *names: str) -> dict[str, Any]:
    return {
        name: getattr(input, name) for name in names if getattr(input, name) is not strawberry.UNSET
    }


async def _update(
    context: Context,
    journal: Journal,
    table: Table,
    subject_type: str,
    current: Any,
    values: dict[str, Any],
) -> Any:
    """Write the values that differ from `current` and log each; returns the row after."""
    changed = {name: value for name, value in values.items() if value != getattr(current, name)}
    if not changed:
        return current
    row = await context.db.fetch_one(
        writes.update_columns(table, frozenset(changed)),
        {"target_id": current.id, **{f"new_{name}": value for name, value in changed.items()}},
    )
    for name, value in changed.items():
        journal.record(
            Change(
                current.workspace_id,
                subject_type,
                current.id,
                "UPDATED",
                field=_FIELD_NAMES.get(name, name),
                from_value=logged(getattr(current, name)) if name != "description" else None,
                to_value=logged(value) if name != "description" else None,
            )
        )
    return row


async def _member_errors(context: Context, workspace_id: int, user_id: Any) -> list[UserError]:
    if user_id is None:
        return []
    keys, errors = reference_pks([user_id], "User", "leadId")
    if errors:
        return [not_found("User", "leadId")]
    members = await context.db.fetch_all(
        writes.members_of_workspace(), {"workspace_id": workspace_id, "ids": keys}
    )
    if not members:
        return [user_error(UserErrorCode.NOT_A_MEMBER, "The lead must be a member.", "leadId")]
    return []


def _lead_key(lead_id: Any) -> int | None:
    return None if lead_id is None else reference_pks([lead_id], "User")[0][0]


# Projects


async def project_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = visible_workspace_id(context, input.workspace_id)
        _require_manager(context, workspace_id)
        key = input.key.strip().upper()
        errors = []
        if not PROJECT_KEY.match(key):
            errors.append(
                user_error(
                    UserErrorCode.INVALID_INPUT,
                    "A key is a letter followed by up to 9 letters or digits, like `ENG`.",
                    "key",
                )
            )
        errors += name_errors(input.name, "name", limit=MAX_PROJECT_NAME)
        errors += body_errors(input.description, "description")
        errors += await _member_errors(context, workspace_id, input.lead_id)
        if errors:
            return Done(Outcome(errors=errors))
        row = await context.db.fetch_one(
            writes.insert_project(),
            {
                "workspace_id": workspace_id,
                "key": key,
                "name": input.name.strip(),
                "description": input.description,
                "lead_id": _lead_key(input.lead_id),
            },
        )
        if row is None:
            return Done(
                Outcome(errors=[user_error(UserErrorCode.KEY_TAKEN, "That key is taken.", "key")])
            )
        journal.record(Change(workspace_id, "Project", row.id, "CREATED"))
        return Done(Outcome(project=row), (row.id,))

    return await perform(context, "projectCreate", input, PROJECT, run)


async def project_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked(context, writes.lock_project(), input.id, "Project")
        values = _given(input, "name", "description", "lead_id")
        errors = []
        if "name" in values:
            values["name"] = (values["name"] or "").strip()
            errors += name_errors(values["name"], "name", limit=MAX_PROJECT_NAME)
        if "description" in values:
            if values["description"] is None:
                values["description"] = ""
            errors += body_errors(values["description"], "description")
        if "lead_id" in values:
            errors += await _member_errors(context, current.workspace_id, values["lead_id"])
            if not errors:
                values["lead_id"] = _lead_key(values["lead_id"])
        if errors:
            return Done(Outcome(errors=errors))
        row = await _update(context, journal, queries.projects, "Project", current, values)
        return Done(Outcome(project=row), (row.id,))

    return await perform(context, "projectUpdate", input, PROJECT, run)


async def project_set_archived(context: Context, input: Any, *, archived: bool) -> Outcome:
    """An archived project keeps its issues; no issue can be created in it or moved to it."""

    async def run(journal: Journal) -> Done:
        current = await _locked(context, writes.lock_project(), input.id, "Project")
        if (current.archived_at is not None) == archived:
            return Done(Outcome(project=current), (current.id,))
        row = await context.db.fetch_one(
            writes.update_columns(queries.projects, frozenset({"archived_at"})),
            {"target_id": current.id, "new_archived_at": datetime.now(UTC) if archived else None},
        )
        action = "ARCHIVED" if archived else "UNARCHIVED"
        journal.record(Change(current.workspace_id, "Project", current.id, action))
        return Done(Outcome(project=row), (row.id,))

    return await perform(
        context, "projectArchive" if archived else "projectUnarchive", input, PROJECT, run
    )


# Labels and workflow states


def _color_errors(color: str) -> list[UserError]:
    if COLOR.match(color):
        return []
    return [user_error(UserErrorCode.INVALID_INPUT, "A colour is like `#e11d48`.", "color")]


async def _name_taken(
    context: Context, table: Table, workspace_id: int, name: str, pk: int
) -> bool:
    taken = await context.db.fetch_one(
        writes.name_taken(table), {"workspace_id": workspace_id, "name": name, "target_id": pk}
    )
    return taken is not None


NAME_TAKEN = "That name is taken in this workspace."


async def label_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = visible_workspace_id(context, input.workspace_id)
        _require_manager(context, workspace_id)
        name, color = input.name.strip(), input.color.strip().lower()
        errors = name_errors(name, "name") + _color_errors(color)
        if errors:
            return Done(Outcome(errors=errors))
        row = await context.db.fetch_one(
            writes.insert_label(), {"workspace_id": workspace_id, "name": name, "color": color}
        )
        if row is None:
            return Done(Outcome(errors=[user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name")]))
        journal.record(Change(workspace_id, "Label", row.id, "CREATED"))
        return Done(Outcome(label=row), (row.id,))

    return await perform(context, "labelCreate", input, LABEL, run)


async def label_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked(context, writes.lock_label(), input.id, "Label")
        values = _given(input, "name", "color")
        errors = []
        if "name" in values:
            values["name"] = (values["name"] or "").strip()
            errors += name_errors(values["name"], "name")
            if not errors and await _name_taken(
                context, queries.labels, current.workspace_id, values["name"], current.id
            ):
                errors.append(user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name"))
        if "color" in values:
            values["color"] = (values["color"] or "").strip().lower()
            errors += _color_errors(values["color"])
        if errors:
            return Done(Outcome(errors=errors))
        try:
            row = await _update(context, journal, queries.labels, "Label", current, values)
        except asyncpg.UniqueViolationError:  # taken by a concurrent change since the check
            return Done(Outcome(errors=[user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name")]))
        return Done(Outcome(label=row), (row.id,))

    return await perform(context, "labelUpdate", input, LABEL, run)


async def label_delete(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked(context, writes.lock_label_for_delete(), input.id, "Label")
        db = context.db
        await db.fetch_all(writes.lock_issues_with_label(), {"target_id": current.id})
        detached = await db.fetch_all(writes.detach_label(), {"target_id": current.id})
        await db.fetch_all(
            writes.bump_versions(), {"issue_ids": [row.issue_id for row in detached]}
        )
        await db.fetch_all(writes.delete_row(queries.labels), {"target_id": current.id})
        for row in detached:
            journal.record(
                Change(
                    current.workspace_id,
                    "Issue",
                    row.issue_id,
                    "UPDATED",
                    issue_id=row.issue_id,
                    field="labels",
                    from_value=str(current.id),
                )
            )
        journal.record(Change(current.workspace_id, "Label", current.id, "DELETED"))
        return Done(Outcome(deleted_label_id=to_global_id("Label", current.id)))

    return await perform(context, "labelDelete", input, LABEL_DELETED, run)


async def _reorder(
    context: Context,
    journal: Journal,
    table: Table,
    type_name: str,
    workspace_global_id: str,
    global_ids: list[str],
    field: str,
) -> tuple[list[Any], list[UserError]]:
    """Rows of a workspace put in the order of `global_ids`, which must name each exactly once."""
    workspace_id = visible_workspace_id(context, workspace_global_id)
    _require_manager(context, workspace_id)
    keys, errors = reference_pks(global_ids, type_name, field)
    if errors:
        return [], errors
    db = context.db
    rows = await db.fetch_all(writes.ids_in_order(table), {"workspace_id": workspace_id})
    if len(keys) != len(set(keys)) or set(keys) != {row.id for row in rows}:
        return [], [
            user_error(
                UserErrorCode.INVALID_INPUT,
                f"Name every {type_name} of the workspace exactly once.",
                field,
            )
        ]
    await db.fetch_all(
        writes.reorder(table),
        {"workspace_id": workspace_id, "ids": keys, "positions": list(range(len(keys)))},
    )
    journal.record(
        Change(
            workspace_id,
            "Workspace",
            workspace_id,
            "REORDERED",
            field=field.removesuffix("Ids") + "s",
            from_value=",".join(str(row.id) for row in rows) or None,
            to_value=",".join(str(key) for key in keys) or None,
        )
    )
    # Read after the update, on the same connection: the loaders of this mutation are fresh.
    loader = (
        context.loaders.label_by_id
        if table is queries.labels
        else context.loaders.workflow_state_by_id
    )
    return list(await loader.load_many(keys)), []


async def label_reorder(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        rows, errors = await _reorder(
            context,
            journal,
            queries.labels,
            "Label",
            input.workspace_id,
            input.label_ids,
            "labelIds",
        )
        if errors:
            return Done(Outcome(errors=errors))
        return Done(Outcome(labels=list(rows)))

    return await perform(context, "labelReorder", input, LABELS_REORDERED, run)


async def workflow_state_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = visible_workspace_id(context, input.workspace_id)
        _require_manager(context, workspace_id)
        name = input.name.strip()
        errors = name_errors(name, "name")
        if errors:
            return Done(Outcome(errors=errors))
        row = await context.db.fetch_one(
            writes.insert_state(), {"workspace_id": workspace_id, "name": name, "type": input.type}
        )
        if row is None:
            return Done(Outcome(errors=[user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name")]))
        journal.record(Change(workspace_id, "WorkflowState", row.id, "CREATED"))
        return Done(Outcome(workflow_state=row), (row.id,))

    return await perform(context, "workflowStateCreate", input, STATE, run)


async def workflow_state_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked(context, writes.lock_state(), input.id, "WorkflowState")
        values = _given(input, "name", "type")
        errors = []
        if values.get("type", 0) is None:
            errors.append(user_error(UserErrorCode.INVALID_INPUT, "Cannot be null.", "type"))
        if "name" in values:
            values["name"] = (values["name"] or "").strip()
            errors += name_errors(values["name"], "name")
            if not errors and await _name_taken(
                context, queries.workflow_states, current.workspace_id, values["name"], current.id
            ):
                errors.append(user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name"))
        if errors:
            return Done(Outcome(errors=errors))
        try:
            row = await _update(
                context, journal, queries.workflow_states, "WorkflowState", current, values
            )
        except asyncpg.UniqueViolationError:
            return Done(Outcome(errors=[user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name")]))
        return Done(Outcome(workflow_state=row), (row.id,))

    return await perform(context, "workflowStateUpdate", input, STATE, run)


async def workflow_state_delete(context: Context, input: Any) -> Outcome:
    """A state with issues is deleted only by moving them to another state of the workspace;
    the last state cannot go (new issues need one)."""

    async def run(journal: Journal) -> Done:
        current = await _locked(context, writes.lock_state_for_delete(), input.id, "WorkflowState")
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
                await db.fetch_all(writes.states_in_workspace(), {**params, "ids": keys})
                if keys
                else []
            )
            if not found or keys[0] == current.id:
                return Done(Outcome(errors=[not_found("WorkflowState", "moveIssuesToId")]))
            target = keys[0]
        if target is None:
            if await db.scalar(writes.state_has_issues(), params):
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
            await db.fetch_all(writes.lock_issues_in_state(), params)
            moved = await db.fetch_all(
                writes.move_issues_between_states(), {**params, "new_state_id": target}
            )
            for row in moved:
                journal.record(
                    Change(
                        workspace_id,
                        "Issue",
                        row.id,
                        "UPDATED",
                        issue_id=row.id,
                        field="state",
                        from_value=str(current.id),
                        to_value=str(target),
                    )
                )
        await db.fetch_all(writes.delete_row(queries.workflow_states), params)
        journal.record(Change(workspace_id, "WorkflowState", current.id, "DELETED"))
        return Done(Outcome(deleted_workflow_state_id=to_global_id("WorkflowState", current.id)))

    return await perform(context, "workflowStateDelete", input, STATE_DELETED, run)


async def workflow_state_reorder(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        rows, errors = await _reorder(
            context,
            journal,
            queries.workflow_states,
            "WorkflowState",
            input.workspace_id,
            input.state_ids,
            "stateIds",
        )
        if errors:
            return Done(Outcome(errors=errors))
        return Done(Outcome(workflow_states=list(rows)))

    return await perform(context, "workflowStateReorder", input, STATES_REORDERED, run)
