"""The statements behind the issue mutations (built once; values are parameters): numbering,
locking in scope, labels, the parent tree, and what an input may point at."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql

from db.queries import (
    issue_labels,
    issues,
    labels,
    memberships,
    projects,
    typed_param,
    visible_issues,
    workflow_states,
)
from db.writes import (
    ISSUE_WRITE_COLUMNS,
    TARGET,
    WORKSPACE,
    advisory_locks,
    id_array,
    id_text,
    lock_issues_where,
)

if TYPE_CHECKING:
    from sqlalchemy import Column, ColumnElement, Delete, Insert, Select, TextClause, Update


@cache
def lock_issues() -> Select[Any]:
    """Visible issues by id, locked until commit (in id order, so batches never deadlock)."""
    return (
        visible_issues()
        .where(issues.c.id == func.any(id_array("issue_ids")))
        .order_by(issues.c.id)
        # NO KEY: a concurrent update pointing its parent_id at one of these rows takes KEY
        # SHARE on it (the foreign key check), which FOR UPDATE would make wait: a deadlock
        # when two issues are being made each other's parent.
        .with_for_update(of=issues, key_share=True)
    )


@cache
def take_issue_number() -> Update:
    """The project's next number; the row lock serializes concurrent creates, and a rolled-back
    create gives its number back, so numbers have neither gaps nor duplicates. No row when the
    project is archived (checked under the lock: an archive in flight is waited for)."""
    return (
        update(projects)
        .where(
            projects.c.id == bindparam("project_id", type_=BigInteger),
            projects.c.archived_at.is_(None),
        )
        .values(last_issue_number=projects.c.last_issue_number + 1)
        .returning(projects.c.last_issue_number)
    )


NEW_ISSUE_FIELDS = (
    "title",
    "description",
    "state_id",
    "priority",
    "assignee_id",
    "creator_id",
    "parent_id",
    "estimate",
    "due_date",
)
"""What a new issue is given besides its place (workspace, project, number), whether a mutation
or the seed creates it; the database fills in the rest."""


@cache
def insert_issue() -> Insert:
    """Takes the project's next number (`take_issue_number`) and inserts the issue with it, in
    one statement: the project's row lock, which orders concurrent creates, is taken as late as
    can be. No row when the project is archived."""
    number = take_issue_number().cte("taken")
    fields = ("workspace_id", "project_id", *NEW_ISSUE_FIELDS)
    values = select(
        *(
            bindparam("project_id", type_=BigInteger)
            if name == "project_id"
            else typed_param(name, issues.c[name])
            for name in fields
        ),
        number.c.last_issue_number,
    )
    return insert(issues).from_select([*fields, "number"], values).returning(*ISSUE_WRITE_COLUMNS)


@cache
def lock_issue_for_delete() -> Select[Any]:
    """FOR UPDATE, not NO KEY: it waits for writes in flight that point at the issue (a comment
    being added, a sub-issue being attached), which then find it gone."""
    return visible_issues().where(issues.c.id == TARGET).with_for_update(of=issues)


@cache
def delete_issue() -> Delete:
    return delete(issues).where(issues.c.id == TARGET)


@cache
def label_ids_of() -> Select[Any]:
    return select(issue_labels.c.label_id).where(issue_labels.c.issue_id == TARGET)


@cache
def add_labels() -> Insert:
    rows = select(TARGET, func.unnest(id_array("label_ids")), WORKSPACE)
    return (
        postgresql.insert(issue_labels)
        .from_select(["issue_id", "label_id", "workspace_id"], rows)
        .on_conflict_do_nothing()
    )


@cache
def remove_labels() -> Delete:
    return delete(issue_labels).where(
        issue_labels.c.issue_id == TARGET,
        issue_labels.c.label_id == func.any(id_array("label_ids")),
    )


@cache
def lock_issue_tree() -> Select[Any]:
    """Serializes parent changes in one workspace: two concurrent moves (A under B, B under A)
    would each pass the cycle check alone and make a cycle together."""
    return advisory_locks("issue tree of workspace:" + id_text(WORKSPACE))


@cache
def ancestors_include() -> TextClause:
    """Whether `:issue_id` is `:parent_id` or one of its ancestors."""
    return text(
        """
        WITH RECURSIVE ancestors (id, parent_id) AS (
            SELECT id, parent_id FROM issues WHERE id = :parent_id
            UNION ALL
            SELECT i.id, i.parent_id FROM issues i JOIN ancestors a ON i.id = a.parent_id
        ) CYCLE id SET is_cycle USING path  -- ends even on data that already holds a cycle
        SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = :issue_id) AS cycle
        """
    ).bindparams(bindparam("parent_id", type_=BigInteger), bindparam("issue_id", type_=BigInteger))


# What an input may point at: rows of the given workspace only.


def _given_in_workspace(key: Column[int], *columns: ColumnElement[Any]) -> Select[Any]:
    """`columns` of the rows whose `key` is one of the ids `ids` and that belong to the
    workspace `workspace_id`."""
    return select(*columns).where(
        key == func.any(id_array("ids")), key.table.c.workspace_id == WORKSPACE
    )


@cache
def states_in_workspace() -> Select[Any]:
    return _given_in_workspace(workflow_states.c.id, workflow_states.c.id)


@cache
def labels_in_workspace() -> Select[Any]:
    return _given_in_workspace(labels.c.id, labels.c.id)


@cache
def members_of_workspace() -> Select[Any]:
    return _given_in_workspace(memberships.c.user_id, memberships.c.user_id.label("id"))


@cache
def issues_in_workspace() -> Select[Any]:
    return _given_in_workspace(issues.c.id, issues.c.id)


@cache
def projects_in_workspace() -> Select[Any]:
    return _given_in_workspace(projects.c.id, projects.c.id, projects.c.key, projects.c.archived_at)


@cache
def default_state() -> Select[Any]:
    """Where new issues start: the first not-yet-started state on the board."""
    not_started = workflow_states.c.type.in_(["BACKLOG", "UNSTARTED"])
    return (
        select(workflow_states.c.id)
        .where(workflow_states.c.workspace_id == WORKSPACE)
        .order_by(not_started.desc(), workflow_states.c.position, workflow_states.c.id)
        .limit(1)
    )


@cache
def bump_versions() -> Update:
    """Issues changed by a change to something else (a label deleted): version + 1."""
    return (
        update(issues)
        .where(issues.c.id == func.any(id_array("issue_ids")))
        .values(version=issues.c.version + 1, updated_at=func.now())
    )


@cache
def lock_children() -> Select[Any]:
    return lock_issues_where(issues.c.parent_id == TARGET)


@cache
def detach_children() -> Update:
    """The sub-issues of an issue being deleted become top-level; returns them for the log."""
    return (
        update(issues)
        .where(issues.c.parent_id == TARGET)
        .values(parent_id=None, version=issues.c.version + 1, updated_at=func.now())
        .returning(issues.c.id)
    )
