"""The statements behind the tracker's mutations (built once; values are parameters).

Updates set only the columns a mutation changes (one statement shape per set of columns), so two
people changing different fields of one issue at the same moment both keep their change.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from db.pagination import shaped
from db.queries import (
    COMMENT_COLUMNS,
    comments,
    in_scope,
    issue_labels,
    issues,
    labels,
    memberships,
    projects,
    typed_param,
    visible_comments,
    visible_issues,
    workflow_states,
)

if TYPE_CHECKING:
    from sqlalchemy import Delete, Insert, Select, Table, TextClause, Update

ISSUE_WRITE_COLUMNS = tuple(column for column in issues.c if column.key != "search_vector")
TARGET = bindparam("target_id", BigInteger)
WORKSPACE = bindparam("workspace_id", BigInteger)


def _ids(name: str) -> Any:
    return bindparam(name, type_=ARRAY(BigInteger))


def update_columns(table: Table, fields: frozenset[str], *, versioned: bool = False) -> Update:
    """`UPDATE table SET <each field> = :new_<field> WHERE id = :target_id RETURNING *`.

    `versioned` rows also get `version + 1` (and issues `updated_at = now()`)."""

    def build() -> Update:
        values: dict[str, Any] = {
            name: bindparam(f"new_{name}", type_=table.c[name].type) for name in sorted(fields)
        }
        if versioned:
            values["version"] = table.c.version + 1
        if "updated_at" in table.c:
            values["updated_at"] = func.now()
        readable = [column for column in table.c if column.key != "search_vector"]
        return update(table).where(table.c.id == TARGET).values(values).returning(*readable)

    return shaped(("update columns", table.name, fields, versioned), build)


# Issues


@cache
def lock_issues() -> Select[Any]:
    """Visible issues by id, locked until commit (in id order, so batches never deadlock)."""
    return (
        visible_issues()
        .where(issues.c.id == func.any(_ids("issue_ids")))
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
            projects.c.id == bindparam("project_id", BigInteger), projects.c.archived_at.is_(None)
        )
        .values(last_issue_number=projects.c.last_issue_number + 1)
        .returning(projects.c.last_issue_number)
    )


@cache
def insert_issue() -> Insert:
    """Takes the project's next number (`take_issue_number`) and inserts the issue with it, in
    one statement: the project's row lock, which orders concurrent creates, is taken as late as
    can be. No row when the project is archived."""
    number = take_issue_number().cte("taken")
    fields = (
        "workspace_id",
        "project_id",
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
    values = select(
        *(
            bindparam("project_id", BigInteger)
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
    rows = select(TARGET, func.unnest(_ids("label_ids")), WORKSPACE)
    return (
        postgresql.insert(issue_labels)
        .from_select(["issue_id", "label_id", "workspace_id"], rows)
        .on_conflict_do_nothing()
    )


@cache
def remove_labels() -> Delete:
    return delete(issue_labels).where(
        issue_labels.c.issue_id == TARGET, issue_labels.c.label_id == func.any(_ids("label_ids"))
    )


@cache
def lock_issue_tree() -> Select[Any]:
    """Serializes parent changes in one workspace: two concurrent moves (A under B, B under A)
    would each pass the cycle check alone and make a cycle together."""
    key = func.hashtextextended(
        "issue tree of workspace:" + cast(cast(WORKSPACE, BigInteger), String), 0
    )
    return select(func.pg_advisory_xact_lock(key))


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
    ).bindparams(bindparam("parent_id", BigInteger), bindparam("issue_id", BigInteger))


# What an input may point at: rows of the given workspace only.


@cache
def states_in_workspace() -> Select[Any]:
    return select(workflow_states.c.id).where(
        workflow_states.c.id == func.any(_ids("ids")), workflow_states.c.workspace_id == WORKSPACE
    )


@cache
def labels_in_workspace() -> Select[Any]:
    return select(labels.c.id).where(
        labels.c.id == func.any(_ids("ids")), labels.c.workspace_id == WORKSPACE
    )


@cache
def members_of_workspace() -> Select[Any]:
    return select(memberships.c.user_id.label("id")).where(
        memberships.c.user_id == func.any(_ids("ids")), memberships.c.workspace_id == WORKSPACE
    )


@cache
def issues_in_workspace() -> Select[Any]:
    return select(issues.c.id).where(
        issues.c.id == func.any(_ids("ids")), issues.c.workspace_id == WORKSPACE
    )


@cache
def projects_in_workspace() -> Select[Any]:
    return select(projects.c.id, projects.c.key, projects.c.archived_at).where(
        projects.c.id == func.any(_ids("ids")), projects.c.workspace_id == WORKSPACE
    )


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


# Comments


@cache
def insert_comment() -> Insert:
    return (
        insert(comments)
        .values(
            workspace_id=WORKSPACE,
            issue_id=bindparam("issue_id", BigInteger),
            author_id=bindparam("author_id", BigInteger),
            body=typed_param("body", comments.c.body),
        )
        .returning(*COMMENT_COLUMNS)
    )


@cache
def lock_comment() -> Select[Any]:
    return visible_comments().where(comments.c.id == TARGET).with_for_update(key_share=True)


@cache
def edit_comment() -> Update:
    return (
        update(comments)
        .where(comments.c.id == TARGET)
        .values(
            body=typed_param("body", comments.c.body),
            edited_at=func.now(),
            version=comments.c.version + 1,
        )
        .returning(*COMMENT_COLUMNS)
    )


@cache
def delete_comment() -> Delete:
    return delete(comments).where(comments.c.id == TARGET)


# Projects, labels and workflow states


@cache
def lock_project() -> Select[Any]:
    return (
        select(*projects.c)
        .where(projects.c.id == TARGET, in_scope(projects.c.workspace_id))
        .with_for_update(key_share=True)
    )


@cache
def insert_project() -> Insert:
    """No row when the key is taken in the workspace."""
    return (
        postgresql.insert(projects)
        .values(
            workspace_id=WORKSPACE,
            key=typed_param("key", projects.c.key),
            name=typed_param("name", projects.c.name),
            description=typed_param("description", projects.c.description),
            lead_id=bindparam("lead_id", BigInteger),
        )
        .on_conflict_do_nothing(index_elements=[projects.c.workspace_id, projects.c.key])
        .returning(*projects.c)
    )


def _lock_in_scope(table: Table, *, for_delete: bool = False) -> Select[Any]:
    return (
        select(*table.c)
        .where(table.c.id == TARGET, in_scope(table.c.workspace_id))
        # NO KEY for changes: issues being created or changed meanwhile may still point at it.
        .with_for_update(key_share=not for_delete)
    )


@cache
def lock_label() -> Select[Any]:
    return _lock_in_scope(labels)


@cache
def lock_state() -> Select[Any]:
    return _lock_in_scope(workflow_states)


@cache
def lock_label_for_delete() -> Select[Any]:
    """FOR UPDATE: waits for the issues being given the label in flight, so none is missed."""
    return _lock_in_scope(labels, for_delete=True)


@cache
def lock_state_for_delete() -> Select[Any]:
    """FOR UPDATE: waits for the issues being moved into the state in flight."""
    return _lock_in_scope(workflow_states, for_delete=True)


def _next_position(table: Table) -> Any:
    return (
        select(func.coalesce(func.max(table.c.position) + 1, 0))
        .where(table.c.workspace_id == WORKSPACE)
        .scalar_subquery()
    )


@cache
def insert_label() -> Insert:
    """Last in the workspace's order; no row when the name is taken."""
    return (
        postgresql.insert(labels)
        .values(
            workspace_id=WORKSPACE,
            name=typed_param("name", labels.c.name),
            color=typed_param("color", labels.c.color),
            position=_next_position(labels),
        )
        .on_conflict_do_nothing(index_elements=[labels.c.workspace_id, labels.c.name])
        .returning(*labels.c)
    )


@cache
def insert_state() -> Insert:
    """Rightmost on the board; no row when the name is taken."""
    return (
        postgresql.insert(workflow_states)
        .values(
            workspace_id=WORKSPACE,
            name=typed_param("name", workflow_states.c.name),
            type=typed_param("type", workflow_states.c.type),
            position=_next_position(workflow_states),
        )
        .on_conflict_do_nothing(
            index_elements=[workflow_states.c.workspace_id, workflow_states.c.name]
        )
        .returning(*workflow_states.c)
    )


def name_taken(table: Table) -> Select[Any]:
    return shaped(
        ("name taken", table.name),
        lambda: select(table.c.id).where(
            table.c.workspace_id == WORKSPACE,
            table.c.name == typed_param("name", table.c.name),
            table.c.id != TARGET,
        ),
    )


def ids_in_order(table: Table) -> Select[Any]:
    """Every row of a workspace (labels, states), locked: a reorder must name them all."""
    return shaped(
        ("ids in order", table.name),
        lambda: (
            select(table.c.id, table.c.position)
            .where(table.c.workspace_id == WORKSPACE)
            .order_by(table.c.position, table.c.id)
            .with_for_update(key_share=True)
        ),
    )


def reorder(table: Table) -> Update:
    """Parameters `ids` and `positions`, in step."""

    def build() -> Update:
        wanted = select(
            func.unnest(_ids("ids")).label("id"),
            func.unnest(bindparam("positions", type_=ARRAY(Integer))).label("position"),
        ).subquery()
        return (
            update(table)
            .where(and_(table.c.id == wanted.c.id, table.c.workspace_id == WORKSPACE))
            .values(position=wanted.c.position)
        )

    return shaped(("reorder", table.name), build)


def delete_row(table: Table) -> Delete:
    return shaped(("delete row", table.name), lambda: delete(table).where(table.c.id == TARGET))


@cache
def move_issues_between_states() -> Update:
    """Every issue of a state being deleted goes to another; returns them for the log."""
    return (
        update(issues)
        .where(issues.c.state_id == TARGET)
        .values(
            state_id=bindparam("new_state_id", BigInteger),
            version=issues.c.version + 1,
            updated_at=func.now(),
        )
        .returning(issues.c.id, issues.c.workspace_id)
    )


@cache
def lock_issues_with_label() -> Select[Any]:
    """The issues carrying a label being deleted, locked in id order like every batch."""
    return (
        select(issues.c.id)
        .where(
            exists().where(
                issue_labels.c.issue_id == issues.c.id, issue_labels.c.label_id == TARGET
            )
        )
        .order_by(issues.c.id)
        .with_for_update(key_share=True)
    )


@cache
def detach_label() -> Delete:
    """Takes a label being deleted off every issue; returns them for the log."""
    return (
        delete(issue_labels)
        .where(issue_labels.c.label_id == TARGET)
        .returning(issue_labels.c.issue_id)
    )


@cache
def bump_versions() -> Update:
    """Issues changed by a change to something else (a label deleted): version + 1."""
    return (
        update(issues)
        .where(issues.c.id == func.any(_ids("issue_ids")))
        .values(version=issues.c.version + 1, updated_at=func.now())
    )


@cache
def lock_issues_in_state() -> Select[Any]:
    """The issues of a state being deleted, locked in id order like every batch."""
    return (
        select(issues.c.id)
        .where(issues.c.state_id == TARGET)
        .order_by(issues.c.id)
        .with_for_update(key_share=True)
    )


@cache
def lock_children() -> Select[Any]:
    return (
        select(issues.c.id)
        .where(issues.c.parent_id == TARGET)
        .order_by(issues.c.id)
        .with_for_update(key_share=True)
    )


@cache
def detach_children() -> Update:
    """The sub-issues of an issue being deleted become top-level; returns them for the log."""
    return (
        update(issues)
        .where(issues.c.parent_id == TARGET)
        .values(parent_id=None, version=issues.c.version + 1, updated_at=func.now())
        .returning(issues.c.id)
    )


@cache
def state_has_issues() -> Select[Any]:
    return select(exists().where(issues.c.state_id == TARGET))
