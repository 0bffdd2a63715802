"""The statements behind the comment mutations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from db.queries import COMMENT_COLUMNS, column_params, comments, visible_rows
from db.writes import TARGET

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select


@cache
def insert_comment() -> Insert:
    return (
        insert(comments)
        .values(column_params(comments, "workspace_id", "issue_id", "author_id", "body"))
        .returning(*COMMENT_COLUMNS)
    )


@cache
def lock_comment() -> Select[Any]:
    return visible_rows(comments).where(comments.c.id == TARGET).with_for_update(key_share=True)
