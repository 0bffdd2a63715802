"""The statements behind the comment mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, bindparam, delete, func, insert, update

from db.queries import COMMENT_COLUMNS, comments, typed_param, visible_rows
from db.writes import TARGET, WORKSPACE

if TYPE_CHECKING:
    from sqlalchemy import Delete, Insert, Select, Update


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
    return visible_rows(comments).where(comments.c.id == TARGET).with_for_update(key_share=True)


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
