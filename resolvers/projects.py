"""Project mutations (ADMIN+; see `resolvers.edits`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import UserError, UserErrorCode, user_error
from db import issues as issue_sql
from db import projects as project_sql
from db import queries, writes
from db.activity import Change
from resolvers.edits import given, locked_in_scope, managed_workspace_id, update_changed
from resolvers.inputs import MAX_DISPLAY_NAME, body_errors, name_errors, not_found, reference_pks
from resolvers.mutations import Done, Journal, Outcome, Returns, perform

if TYPE_CHECKING:
    from resolvers.context import Context

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


PROJECT = Returns("project", "project_by_id")


async def _member_errors(context: Context, workspace_id: int, user_id: Any) -> list[UserError]:
    if user_id is None:
        return []
    keys, errors = reference_pks([user_id], "User", "leadId")
    if errors:
        return [not_found("User", "leadId")]
    members = await context.db.fetch_all(
        issue_sql.members_of_workspace(), {"workspace_id": workspace_id, "ids": keys}
    )
    if not members:
        return [user_error(UserErrorCode.NOT_A_MEMBER, "The lead must be a member.", "leadId")]
    return []


def _lead_key(lead_id: Any) -> int | None:
    return None if lead_id is None else reference_pks([lead_id], "User")[0][0]


async def project_create(context: Context, input: Any) -> Outcome:
    async def run(journal: Journal) -> Done:
        workspace_id = managed_workspace_id(context, input.workspace_id)
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
        errors += name_errors(input.name, "name", limit=MAX_DISPLAY_NAME)
        errors += body_errors(input.description, "description")
        errors += await _member_errors(context, workspace_id, input.lead_id)
        if errors:
            return Done(Outcome(errors=errors))
        row = await context.db.fetch_one(
            project_sql.insert_project(),
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
        current = await locked_in_scope(context, queries.projects, input.id, "Project")
        values = given(input, "name", "description", "lead_id")
        errors = []
        if "name" in values:
            values["name"] = (values["name"] or "").strip()
            errors += name_errors(values["name"], "name", limit=MAX_DISPLAY_NAME)
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
        row = await update_changed(context, journal, queries.projects, "Project", current, values)
        return Done(Outcome(project=row), (row.id,))

    return await perform(context, "projectUpdate", input, PROJECT, run)


async def project_set_archived(context: Context, input: Any, *, archived: bool) -> Outcome:
    """An archived project keeps its issues; no issue can be created in it or moved to it."""

    async def run(journal: Journal) -> Done:
        current = await locked_in_scope(context, queries.projects, input.id, "Project")
        if (current.archived_at is not None) == archived:
            return Done(Outcome(project=current), (current.id,))
        row = await context.db.fetch_row(
            writes.update_columns(queries.projects, frozenset({"archived_at"})),
            {"target_id": current.id, "new_archived_at": datetime.now(UTC) if archived else None},
        )
        action = "ARCHIVED" if archived else "UNARCHIVED"
        journal.record(Change(current.workspace_id, "Project", current.id, action))
        return Done(Outcome(project=row), (row.id,))

    return await perform(
        context, "projectArchive" if archived else "projectUnarchive", input, PROJECT, run
    )
