"""Statement templates the tables' writes share (built once; values are parameters).

Updates set only the columns a mutation changes (one statement shape per set of columns), so two
people changing different fields of one row at the same moment both keep their change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, String, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY

from db.pagination import shaped
from db.queries import column_params, in_scope, issues, readable_columns, typed_param

if TYPE_CHECKING:
    from sqlalchemy import BindParameter, ColumnElement, Delete, Insert, Select, Table, Update


ISSUE_WRITE_COLUMNS = readable_columns(issues)


_CHANGED_AT = ("updated_at", "edited_at")
"""The columns some tables keep the time of a row's last change in (issues, comments)."""


TARGET: BindParameter[int] = bindparam("target_id", type_=BigInteger)


WORKSPACE: BindParameter[int] = bindparam("workspace_id", type_=BigInteger)


def id_array(name: str) -> Any:
    return bindparam(name, type_=ARRAY(BigInteger))


def update_columns(table: Table, fields: frozenset[str], *, versioned: bool = False) -> Update:
    """`UPDATE table SET <each field> = :new_<field> WHERE id = :target_id RETURNING *`.

    `versioned` rows also get `version + 1`; a table keeping the time of a row's last change
    (`_CHANGED_AT`) gets it set."""

    def build() -> Update:
        values: dict[str, Any] = {
            name: bindparam(f"new_{name}", type_=table.c[name].type) for name in sorted(fields)
        }
        if versioned:
            values["version"] = table.c.version + 1
        for changed_at in _CHANGED_AT:
            if changed_at in table.c:
                values[changed_at] = func.now()
        readable = readable_columns(table)
        return update(table).where(table.c.id == TARGET).values(values).returning(*readable)

    return shaped(("update columns", table.name, fields, versioned), build)


def lock_in_scope(table: Table, *, for_delete: bool = False) -> Select[Any]:
    """The row `target_id` of a workspace in scope, locked until commit. NO KEY for changes:
    issues being created or changed meanwhile may still point at it. FOR UPDATE `for_delete`:
    it waits for the issues being pointed at it in flight (given the label, moved into the
    state), so none is missed."""
    return shaped(
        ("lock in scope", table.name, for_delete),
        lambda: (
            select(*table.c)
            .where(table.c.id == TARGET, in_scope(table.c.workspace_id))
            .with_for_update(key_share=not for_delete)
        ),
    )


def lock_issues_where(condition: ColumnElement[bool]) -> Select[Any]:
    """The ids of the issues matching `condition`, locked in id order like every batch."""
    return (
        select(issues.c.id).where(condition).order_by(issues.c.id).with_for_update(key_share=True)
    )


def advisory_locks(*names: ColumnElement[str]) -> Select[Any]:
    """Takes the transaction-level advisory lock of each of `names` (text, hashed to a bigint)
    in the order given, held until commit: what serializes the changes to one thing (a user's
    credentials, a workspace's issue tree) where no row lock covers them all."""
    return select(*(func.pg_advisory_xact_lock(func.hashtextextended(name, 0)) for name in names))


def id_text(id_param: BindParameter[int]) -> ColumnElement[str]:
    """An id parameter as text, for an advisory lock's name. The parameter must carry its type
    (`type_=BigInteger`): a bare one in `|| CAST(.. AS VARCHAR)` would be sent as text."""
    if not isinstance(id_param.type, BigInteger):
        raise TypeError(f"id_text: {id_param.key} must be a BigInteger parameter")
    return id_param.cast(String)


def next_position(table: Table) -> Any:
    return (
        select(func.coalesce(func.max(table.c.position) + 1, 0))
        .where(table.c.workspace_id == WORKSPACE)
        .scalar_subquery()
    )


def insert_last(table: Table, fields: tuple[str, ...]) -> Insert:
    """`INSERT` a row of the workspace `workspace_id` with each field = :<field>, last in the
    workspace's order (labels, states); no row when its name is taken."""

    def build() -> Insert:
        return (
            postgresql.insert(table)
            .values(
                workspace_id=WORKSPACE,
                **column_params(table, *fields),
                position=next_position(table),
            )
            .on_conflict_do_nothing(index_elements=[table.c.workspace_id, table.c.name])
            .returning(*table.c)
        )

    return shaped(("insert last", table.name, fields), build)


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
            func.unnest(id_array("ids")).label("id"),
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
