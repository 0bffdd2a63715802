"""Label mutations (ADMIN+; see `resolvers.edits`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.errors import UserError, UserErrorCode, user_error
from core.ids import to_global_id
from db import issues as issue_sql
from db import labels as label_sql
from db import queries, writes
from db.activity import Change, issue_updated
from resolvers import edits
from resolvers.inputs import name_errors
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from resolvers.context import Context

COLOR = re.compile(r"^#[0-9a-f]{6}$")


LABELS = edits.WorkspaceList(queries.labels, "Label", "label", "label_by_id", "labelIds", "labels")


LABEL_DELETED = Returns()


def _color_errors(color: str) -> list[UserError]:
    if COLOR.match(color):
        return []
    return [user_error(UserErrorCode.INVALID_INPUT, "A colour is like `#e11d48`.", "color")]


async def label_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = edits.managed_workspace_id(context, input.workspace_id)
        name, color = input.name.strip(), input.color.strip().lower()
        errors = name_errors(name, "name") + _color_errors(color)
        if errors:
            return Done(Outcome(errors=errors))
        return await edits.create_last(
            context, journal, LABELS, workspace_id, {"name": name, "color": color}
        )

    return await perform(context, "labelCreate", input, LABELS.returns, run)


async def label_update(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await edits.locked_in_scope(context, queries.labels, input.id, "Label")
        values = edits.given(input, "name", "color")
        errors = await edits.new_name_errors(context, queries.labels, current, values, earlier=[])
        if "color" in values:
            values["color"] = (values["color"] or "").strip().lower()
            errors += _color_errors(values["color"])
        if errors:
            return Done(Outcome(errors=errors))
        return await edits.update_named(context, journal, LABELS, current, values)

    return await perform(context, "labelUpdate", input, LABELS.returns, run)


async def label_delete(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        current = await edits.locked_in_scope(
            context, queries.labels, input.id, "Label", for_delete=True
        )
        db = context.db
        await db.fetch_all(label_sql.lock_issues_with_label(), {"target_id": current.id})
        detached = await db.fetch_all(label_sql.detach_label(), {"target_id": current.id})
        await db.fetch_all(
            issue_sql.bump_versions(), {"issue_ids": [row.issue_id for row in detached]}
        )
        await db.fetch_all(writes.delete_row(queries.labels), {"target_id": current.id})
        for row in detached:
            journal.record(
                issue_updated(current.workspace_id, row.issue_id, "labels", str(current.id), None)
            )
        journal.record(Change(current.workspace_id, "Label", current.id, "DELETED"))
        return Done(Outcome(deleted_label_id=to_global_id("Label", current.id)))

    return await perform(context, "labelDelete", input, LABEL_DELETED, run)


async def label_reorder(context: Context, input: Any) -> Outcome:
    return await edits.reorder(context, "labelReorder", input, input.label_ids, LABELS)
