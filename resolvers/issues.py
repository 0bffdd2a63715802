"""Issue mutations: create, update (one or a batch), archive, unarchive, delete.

Every write locks the issue row first and compares against what it holds then, so the activity
log's "from" values are exact and an UPDATE sets only the fields that really change: two people
changing different fields at the same moment both keep their change. `expectedVersion` turns
"someone changed it since I read it" into a CONFLICT instead of a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import strawberry

from auth import policies
from core.enums import Priority
from core.errors import ForbiddenError, NotFoundError, UserError, UserErrorCode, user_error
from core.ids import to_global_id
from db import issues as issue_sql
from db import queries, writes
from db.activity import Change, issue_updated, logged
from resolvers.inputs import (
    body_errors,
    conflict,
    indexed_pks,
    not_found,
    reference_pks,
    target_pk,
    title_errors,
)
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from collections.abc import Sequence

    from resolvers.context import Context

MAX_BATCH = 50
ISSUE = Returns("issue", "issue_by_id")
ISSUES = Returns("issues", "issue_by_id", many=True)
DELETED = Returns()

# Input field → (column, the type its IDs name, or None for plain values).
_FIELDS: dict[str, tuple[str, str | None]] = {
    "title": ("title", None),
    "description": ("description", None),
    "state_id": ("state_id", "WorkflowState"),
    "priority": ("priority", None),
    "assignee_id": ("assignee_id", "User"),
    "parent_id": ("parent_id", "Issue"),
    "estimate": ("estimate", None),
    "due_date": ("due_date", None),
    "project_id": ("project_id", "Project"),
    "position": ("position", None),
}
_REQUIRED = frozenset({"title", "description", "state_id", "priority", "project_id", "position"})
_CAMEL = {
    "state_id": "stateId",
    "assignee_id": "assigneeId",
    "parent_id": "parentId",
    "due_date": "dueDate",
    "project_id": "projectId",
    "label_ids": "labelIds",
    "add_label_ids": "addLabelIds",
    "remove_label_ids": "removeLabelIds",
}
LOGGED_AS = {
    "state_id": "state",
    "assignee_id": "assignee",
    "parent_id": "parent",
    "project_id": "project",
    "due_date": "dueDate",
}
"""How a column is named in the activity log (the GraphQL field it shows as)."""
_UNLOGGED_VALUES = frozenset({"description"})
"""Descriptions can be 64 KiB: the log says that they changed, not what they were."""


@dataclass(slots=True)
class IssueChanges:
    """What to change, with references as database keys; only given fields are present."""

    values: dict[str, Any] = field(default_factory=dict)
    label_ids: list[int] | None = None
    add_label_ids: list[int] = field(default_factory=list)
    remove_label_ids: list[int] = field(default_factory=list)
    project_key: str | None = None
    """The key of the project moved to (from the reference check)."""
    label_positions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """For each label list given: (index in the input, key), to name a bad one's index."""


def _path(prefix: tuple[str, ...], name: str) -> tuple[str, ...]:
    return (*prefix, _CAMEL.get(name, name))


def parse_changes(
    source: Any, prefix: tuple[str, ...] = (), *, creating: bool = False
) -> tuple[IssueChanges, list[UserError]]:
    """The changes an input asks for, and the errors that need no database to find."""
    changes, errors = IssueChanges(), []
    for name, (column, type_name) in _FIELDS.items():
        value = getattr(source, name, strawberry.UNSET)
        if value is strawberry.UNSET:
            continue
        path = _path(prefix, name)
        if value is None and creating:
            continue  # the default
        if value is None and name in _REQUIRED:
            errors.append(user_error(UserErrorCode.INVALID_INPUT, "Cannot be null.", *path))
            continue
        if type_name is not None and value is not None:
            keys, bad = reference_pks([value], type_name, *path)
            if bad:
                errors.append(not_found(type_name, *path))
                continue
            value = keys[0]
        if name == "title":
            value = value.strip()
            errors += title_errors(value, *path)
        elif name == "description":
            errors += body_errors(value, *path)
        elif name == "estimate" and value is not None and value < 0:
            errors.append(user_error(UserErrorCode.INVALID_INPUT, "Cannot be negative.", *path))
        changes.values[column] = value
    for name in ("label_ids", "add_label_ids", "remove_label_ids"):
        ids = getattr(source, name, strawberry.UNSET)
        if ids is strawberry.UNSET:
            continue
        if ids is None:
            if name == "label_ids":
                errors.append(
                    user_error(UserErrorCode.INVALID_INPUT, "Cannot be null.", *_path(prefix, name))
                )
            continue
        positions, bad = indexed_pks(ids, "Label", *_path(prefix, name))
        errors += bad
        changes.label_positions[name] = positions
        setattr(changes, name, list(dict.fromkeys(key for _, key in positions)))
    if changes.label_ids is not None and (changes.add_label_ids or changes.remove_label_ids):
        errors.append(
            user_error(
                UserErrorCode.INVALID_INPUT,
                "Give `labelIds`, or `addLabelIds`/`removeLabelIds`, not both.",
                *_path(prefix, "label_ids"),
            )
        )
    return changes, errors


async def check_references(
    context: Context, workspace_id: int, changes: IssueChanges, prefix: tuple[str, ...] = ()
) -> list[UserError]:
    """Every state, label, assignee, parent and project must be of the issue's workspace (the
    database's composite keys would refuse them too; this says which input is wrong)."""
    db, errors = context.db, []
    params = {"workspace_id": workspace_id}
    checks = (
        ("state_id", "WorkflowState", issue_sql.states_in_workspace()),
        ("parent_id", "Issue", issue_sql.issues_in_workspace()),
    )
    for column, type_name, statement in checks:
        key = changes.values.get(column)
        if key is not None and not await db.fetch_all(statement, {**params, "ids": [key]}):
            errors.append(not_found(type_name, *_path(prefix, column)))
    assignee = changes.values.get("assignee_id")
    if assignee is not None and not await db.fetch_all(
        issue_sql.members_of_workspace(), {**params, "ids": [assignee]}
    ):
        errors.append(
            user_error(
                UserErrorCode.NOT_A_MEMBER,
                "The assignee must be a member of the workspace.",
                *_path(prefix, "assignee_id"),
            )
        )
    project = changes.values.get("project_id")
    if project is not None:
        row = await db.fetch_one(issue_sql.projects_in_workspace(), {**params, "ids": [project]})
        if row is None:
            errors.append(not_found("Project", *_path(prefix, "project_id")))
        elif row.archived_at is not None:
            errors.append(archived_project(*_path(prefix, "project_id")))
        else:
            changes.project_key = row.key
    for name, positions in changes.label_positions.items():
        wanted = getattr(changes, name) or []
        if not wanted:
            continue
        found = {
            row.id
            for row in await db.fetch_all(
                issue_sql.labels_in_workspace(), {**params, "ids": wanted}
            )
        }
        errors += [
            not_found("Label", *_path(prefix, name), str(index))
            for index, key in positions
            if key not in found
        ]
    return errors


def archived_project(*field: str) -> UserError:
    return user_error(UserErrorCode.ARCHIVED, "The project is archived.", *field)


def _issue_row(row: Any, project_key: str) -> Any:
    """An issue row as the read model has it (write statements return no project key)."""
    return SimpleNamespace(**row._asdict(), project_key=project_key)


async def apply_changes(
    context: Context,
    journal: Journal,
    current: Any,
    changes: IssueChanges,
    prefix: tuple[str, ...] = (),
) -> tuple[Any, list[UserError]]:
    """Write `changes` to the locked issue row `current`: the fields that differ, the labels,
    the log. Returns the issue row after the change."""
    db = context.db
    workspace_id, issue_id = current.workspace_id, current.id
    values = {
        column: value
        for column, value in changes.values.items()
        if value != getattr(current, column)
    }
    if "parent_id" in changes.values:
        # Before any project row lock (a move), in every path: one order, no deadlock.
        await db.fetch_all(issue_sql.lock_issue_tree(), {"workspace_id": workspace_id})
    parent = values.get("parent_id")
    if parent is not None:
        cycle = await db.scalar(
            issue_sql.ancestors_include(), {"parent_id": parent, "issue_id": issue_id}
        )
        if cycle:
            return current, [
                user_error(
                    UserErrorCode.CYCLE,
                    "An issue cannot be a sub-issue of itself or of one of its sub-issues.",
                    *_path(prefix, "parent_id"),
                )
            ]
    project_key = current.project_key
    if "project_id" in values:
        values["number"] = await db.scalar(
            issue_sql.take_issue_number(), {"project_id": values["project_id"]}
        )
        if values["number"] is None:
            return current, [archived_project(*_path(prefix, "project_id"))]
        project_key = changes.project_key or project_key
    label_changes = await _change_labels(context, current, changes)
    if values or label_changes:
        row = await db.fetch_one(
            writes.update_columns(queries.issues, frozenset(values), versioned=True),
            {"target_id": issue_id, **{f"new_{name}": value for name, value in values.items()}},
        )
        current_row = _issue_row(row, project_key)
    else:
        current_row = current
    for column, value in values.items():
        if column == "number":
            continue
        with_values = column not in _UNLOGGED_VALUES
        change = issue_updated(
            workspace_id,
            issue_id,
            LOGGED_AS.get(column, column),
            logged(getattr(current, column)) if with_values else None,
            logged(value) if with_values else None,
        )
        if not with_values:
            change = replace(change, previous_text=getattr(current, column))
        journal.record(change)
    for label_id, added in label_changes:
        journal.record(
            issue_updated(
                workspace_id,
                issue_id,
                "labels",
                None if added else str(label_id),
                str(label_id) if added else None,
            )
        )
    return current_row, []


async def _change_labels(
    context: Context, current: Any, changes: IssueChanges
) -> list[tuple[int, bool]]:
    """Apply the label changes; returns (label id, added?) for each real change."""
    if changes.label_ids is None and not changes.add_label_ids and not changes.remove_label_ids:
        return []
    db = context.db
    params = {"target_id": current.id, "workspace_id": current.workspace_id}
    present = {row.label_id for row in await db.fetch_all(issue_sql.label_ids_of(), params)}
    if changes.label_ids is not None:
        wanted = set(changes.label_ids)
        add = [key for key in changes.label_ids if key not in present]
        remove = sorted(present - wanted)
    else:
        removing = set(changes.remove_label_ids)
        add = [k for k in changes.add_label_ids if k not in present and k not in removing]
        remove = [k for k in changes.remove_label_ids if k in present]
    if add:
        await db.fetch_all(issue_sql.add_labels(), {**params, "label_ids": add})
    if remove:
        await db.fetch_all(issue_sql.remove_labels(), {**params, "label_ids": remove})
    return [(key, True) for key in add] + [(key, False) for key in remove]


async def _locked(context: Context, pks: Sequence[int]) -> dict[int, Any]:
    rows = await context.db.fetch_all(
        issue_sql.lock_issues(), {**context.loaders.scope_params, "issue_ids": list(pks)}
    )
    return {row.id: row for row in rows}


def _require_editor(context: Context, workspace_id: int) -> None:
    if not policies.can_edit_issues(context.viewer, workspace_id):
        raise ForbiddenError("Your role in this workspace may not change issues.")


async def _locked_for_edit(context: Context, global_id: str) -> Any:
    """The issue, locked until commit; NOT_FOUND outside the viewer's scope, FORBIDDEN unless
    they may edit issues of its workspace."""
    pk = target_pk(global_id, "Issue")
    current = (await _locked(context, [pk])).get(pk)
    if current is None:
        raise NotFoundError("Issue not found.")
    _require_editor(context, current.workspace_id)
    return current


async def issue_create(context: Context, input: Any) -> Outcome:
    """The issue takes its project's next number: the project row's lock orders concurrent
    creates, so numbers are unique and, as a failed create rolls back, without gaps."""

    async def run(journal: Journal) -> Done:
        project = await context.loaders.project_by_id.load(target_pk(input.project_id, "Project"))
        if project is None:
            raise NotFoundError("Project not found.")
        workspace_id = project.workspace_id
        _require_editor(context, workspace_id)
        changes, errors = parse_changes(input, creating=True)
        if project.archived_at is not None:
            errors.append(archived_project("projectId"))
        changes.values.pop("project_id", None)
        errors += await check_references(context, workspace_id, changes)
        if errors:
            return Done(Outcome(errors=errors))
        db = context.db
        values = changes.values
        state_id = values.get("state_id") or await db.scalar(
            issue_sql.default_state(), {"workspace_id": workspace_id}
        )
        row = await db.fetch_one(
            issue_sql.insert_issue(),
            {
                "workspace_id": workspace_id,
                "project_id": project.id,
                "title": values["title"],
                "description": values.get("description", ""),
                "state_id": state_id,
                "priority": values.get("priority", Priority.NONE),
                "assignee_id": values.get("assignee_id"),
                "creator_id": journal.actor_id,
                "parent_id": values.get("parent_id"),
                "estimate": values.get("estimate"),
                "due_date": values.get("due_date"),
            },
        )
        if row is None:  # the project was archived since it was read
            return Done(Outcome(errors=[archived_project("projectId")]))
        if changes.label_ids:
            await db.fetch_all(
                issue_sql.add_labels(),
                {"target_id": row.id, "workspace_id": workspace_id, "label_ids": changes.label_ids},
            )
        journal.record(Change(workspace_id, "Issue", row.id, "CREATED", issue_id=row.id))
        return Done(Outcome(issue=_issue_row(row, project.key)), (row.id,))

    return await perform(context, "issueCreate", input, ISSUE, run)


async def issue_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked_for_edit(context, input.id)
        if input.expected_version is not None and input.expected_version != current.version:
            return Done(
                Outcome(
                    issue=current,
                    errors=[conflict("issue", input.expected_version, current.version)],
                )
            )
        changes, errors = parse_changes(input)
        errors += await check_references(context, current.workspace_id, changes)
        if errors:
            return Done(Outcome(errors=errors))
        row, errors = await apply_changes(context, journal, current, changes)
        if errors:
            return Done(Outcome(errors=errors))
        return Done(Outcome(issue=row), (current.id,))

    return await perform(context, "issueUpdate", input, ISSUE, run)


async def issue_batch_update(context: Context, input: Any) -> Outcome:
    """All or none: any error rolls every issue back."""

    async def run(journal: Journal) -> Done:
        if not 1 <= len(input.ids) <= MAX_BATCH:
            return Done(
                Outcome(
                    errors=[
                        user_error(
                            UserErrorCode.TOO_MANY,
                            f"Give 1 to {MAX_BATCH} issue IDs ({len(input.ids)} given).",
                            "ids",
                        )
                    ]
                )
            )
        pks, errors = reference_pks(input.ids, "Issue", "ids")
        changes, change_errors = parse_changes(input.changes, ("changes",))
        errors += change_errors
        # Authorized before anything is locked: a caller who may not edit locks nothing.
        for row in await context.loaders.issue_by_id.load_many(list(dict.fromkeys(pks))):
            if row is not None:
                _require_editor(context, row.workspace_id)
        locked = await _locked(context, pks)
        order: list[int] = []
        for index, global_id in enumerate(input.ids):
            pk = next(iter(reference_pks([global_id], "Issue")[0]), None)
            if pk is None:
                continue
            if pk not in locked:
                errors.append(not_found("Issue", "ids", str(index)))
            elif pk not in order:
                order.append(pk)
        for workspace_id in dict.fromkeys(locked[pk].workspace_id for pk in order):
            _require_editor(context, workspace_id)
            if not errors:
                errors += await check_references(context, workspace_id, changes, ("changes",))
        if errors:
            return Done(Outcome(errors=errors))
        updated = []
        for pk in order:
            row, errors = await apply_changes(context, journal, locked[pk], changes, ("changes",))
            if errors:
                return Done(Outcome(errors=errors))
            updated.append(row)
        return Done(Outcome(issues=updated), tuple(order))

    return await perform(context, "issueBatchUpdate", input, ISSUES, run)


async def issue_set_archived(context: Context, input: Any, *, archived: bool) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await _locked_for_edit(context, input.id)
        pk = current.id
        if (current.archived_at is not None) == archived:
            return Done(Outcome(issue=current), (pk,))
        row = await context.db.fetch_one(
            writes.update_columns(queries.issues, frozenset({"archived_at"}), versioned=True),
            {"target_id": pk, "new_archived_at": datetime.now(UTC) if archived else None},
        )
        journal.record(
            Change(
                current.workspace_id,
                "Issue",
                pk,
                "ARCHIVED" if archived else "UNARCHIVED",
                issue_id=pk,
            )
        )
        return Done(Outcome(issue=_issue_row(row, current.project_key)), (pk,))

    return await perform(
        context, "issueArchive" if archived else "issueUnarchive", input, ISSUE, run
    )


async def issue_delete(context: Context, input: Any) -> Outcome:
    """Its comments and labels go with it; its sub-issues become top-level issues."""

    async def run(journal: Journal) -> Done:
        pk = target_pk(input.id, "Issue")
        db = context.db
        current = await db.fetch_one(
            issue_sql.lock_issue_for_delete(),
            {**context.loaders.scope_params, "target_id": pk},
        )
        if current is None:
            raise NotFoundError("Issue not found.")
        workspace_id = current.workspace_id
        if not policies.can_delete_issue(context.viewer, workspace_id, current.creator_id):
            raise ForbiddenError("Only the issue's creator or an admin may delete it.")
        await db.fetch_all(issue_sql.lock_children(), {"target_id": pk})
        children = await db.fetch_all(issue_sql.detach_children(), {"target_id": pk})
        await db.fetch_all(issue_sql.delete_issue(), {"target_id": pk})
        for child in children:
            journal.record(issue_updated(workspace_id, child.id, "parent", str(pk), None))
        journal.record(Change(workspace_id, "Issue", pk, "DELETED", issue_id=pk))
        return Done(Outcome(deleted_issue_id=to_global_id("Issue", pk)))

    return await perform(context, "issueDelete", input, DELETED, run)
