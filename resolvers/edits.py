"""What editing a workspace's projects, labels and workflow states shares: these shape everyone's
work, so ADMIN and up only (`auth.policies.can_manage_workflow`).

A target the viewer cannot see is NOT_FOUND; a visible one their role may not change is
FORBIDDEN. Unique names and keys are checked first for a clear error, and the database's unique
constraints settle races (a concurrent create with the same name gets the same error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import strawberry

from auth import policies
from core.errors import ForbiddenError, NotFoundError, UserError, UserErrorCode, user_error
from db import writes
from db.activity import Change, logged
from resolvers.guards import visible_workspace_id
from resolvers.inputs import name_errors, reference_pks, target_pk
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from sqlalchemy import Table

    from resolvers.context import Context


_FIELD_NAMES = {"lead_id": "lead"}


def require_manager(context: Context, workspace_id: int) -> None:
    if not policies.can_manage_workflow(context.viewer, workspace_id):
        raise ForbiddenError("Your role in this workspace may not change that.")


def managed_workspace_id(context: Context, workspace_global_id: Any) -> int:
    """The workspace a create or reorder names: NOT_FOUND outside the viewer's scope,
    FORBIDDEN unless they may manage it."""
    workspace_id = visible_workspace_id(context, workspace_global_id)
    require_manager(context, workspace_id)
    return workspace_id


async def locked_in_scope(
    context: Context, table: Table, global_id: str, type_name: str, *, for_delete: bool = False
) -> Any:
    """The row of `global_id`, locked (`db.writes.lock_in_scope`); NOT_FOUND outside the
    viewer's scope, FORBIDDEN unless they may manage its workspace."""
    row = await context.db.fetch_one(
        writes.lock_in_scope(table, for_delete=for_delete),
        {**context.loaders.scope_params, "target_id": target_pk(global_id, type_name)},
    )
    if row is None:
        raise NotFoundError(f"{type_name} not found.")
    require_manager(context, row.workspace_id)
    return row


def given(input: Any, *names: str) -> dict[str, Any]:
    return {
        name: getattr(input, name) for name in names if getattr(input, name) is not strawberry.UNSET
    }


async def update_changed(
    context: Context,
    journal: Journal,
    table: Table,
    subject_type: str,
    current: Any,
    values: dict[str, Any],
    *,
    workspace_id: int | None = None,
) -> Any:
    """Write the values that differ from `current` and log each in the stream of its workspace
    (`current.workspace_id`, unless `workspace_id` is given: a workspace's own row has none);
    returns the row after."""
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
                current.workspace_id if workspace_id is None else workspace_id,
                subject_type,
                current.id,
                "UPDATED",
                field=_FIELD_NAMES.get(name, name),
                from_value=logged(getattr(current, name)) if name != "description" else None,
                to_value=logged(value) if name != "description" else None,
            )
        )
    return row


async def name_taken(context: Context, table: Table, workspace_id: int, name: str, pk: int) -> bool:
    taken = await context.db.fetch_one(
        writes.name_taken(table), {"workspace_id": workspace_id, "name": name, "target_id": pk}
    )
    return taken is not None


NAME_TAKEN = "That name is taken in this workspace."


def name_taken_outcome() -> Done:
    """Nothing written: another row of the workspace has the name."""
    return Done(Outcome(errors=[user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name")]))


async def new_name_errors(
    context: Context,
    table: Table,
    current: Any,
    values: dict[str, Any],
    *,
    earlier: list[UserError],
) -> list[UserError]:
    """The errors of the new `name` in `values`, if one is given (it is stripped in place): its
    text, then, when neither it nor any `earlier` error is wrong, whether it is taken."""
    if "name" not in values:
        return []
    values["name"] = (values["name"] or "").strip()
    errors = name_errors(values["name"], "name")
    if (
        not errors
        and not earlier
        and await name_taken(context, table, current.workspace_id, values["name"], current.id)
    ):
        errors.append(user_error(UserErrorCode.NAME_TAKEN, NAME_TAKEN, "name"))
    return errors


@dataclass(frozen=True)
class WorkspaceList:
    """Rows a workspace keeps in an order its managers set, each with a name unique in the
    workspace: labels, workflow states."""

    table: Table
    type_name: str
    field: str
    """The payload field of one of them (create, update)."""
    loader: str
    """The `Loaders` attribute reading them by id."""
    ids_field: str
    """The input field naming each of them, in the new order."""
    result: str
    """The payload field listing them in the new order."""

    @property
    def returns(self) -> Returns:
        """How a retried create or update rebuilds its payload."""
        return Returns(self.field, self.loader)


async def create_last(
    context: Context,
    journal: Journal,
    kind: WorkspaceList,
    workspace_id: int,
    values: dict[str, Any],
) -> Done:
    """A new row of the workspace with `values`, after its others; nothing written when its
    name is taken (checked by the insert itself, so a concurrent create cannot slip in)."""
    row = await context.db.fetch_one(
        writes.insert_last(kind.table, tuple(values)), {"workspace_id": workspace_id, **values}
    )
    if row is None:
        return name_taken_outcome()
    journal.record(Change(workspace_id, kind.type_name, row.id, "CREATED"))
    return Done(Outcome(**{kind.field: row}), (row.id,))


async def update_named(
    context: Context, journal: Journal, kind: WorkspaceList, current: Any, values: dict[str, Any]
) -> Done:
    """`update_changed` on a row whose new name `new_name_errors` found free: a concurrent change
    that took it since is NAME_TAKEN too."""
    try:
        row = await update_changed(context, journal, kind.table, kind.type_name, current, values)
    except asyncpg.UniqueViolationError:
        return name_taken_outcome()
    return Done(Outcome(**{kind.field: row}), (row.id,))


async def reorder(
    context: Context, operation: str, input: Any, global_ids: list[str], kind: WorkspaceList
) -> Outcome:
    """The rows of `input.workspace_id` put in the order of `global_ids`, which must name each
    exactly once."""
    field, table = kind.ids_field, kind.table

    async def run(journal: Journal) -> Done:
        workspace_id = managed_workspace_id(context, input.workspace_id)
        keys, errors = reference_pks(global_ids, kind.type_name, field)
        if errors:
            return Done(Outcome(errors=errors))
        db = context.db
        rows = await db.fetch_all(writes.ids_in_order(table), {"workspace_id": workspace_id})
        if len(keys) != len(set(keys)) or set(keys) != {row.id for row in rows}:
            message = f"Name every {kind.type_name} of the workspace exactly once."
            return Done(Outcome(errors=[user_error(UserErrorCode.INVALID_INPUT, message, field)]))
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
        reordered = await getattr(context.loaders, kind.loader).load_many(keys)
        return Done(Outcome(**{kind.result: list(reordered)}))

    return await perform(context, operation, input, Returns(), run)
