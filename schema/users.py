"""The `User` type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry

from resolvers.context import Info
from schema import issues as issue_types
from schema import refs
from schema.node import Node, to_global_id
from schema.pagination import Connection

if TYPE_CHECKING:
    from sqlalchemy import Row


@strawberry.type(description="A person with an account.")
class User(Node):
    pk: strawberry.Private[int]
    name: str
    email: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> User:
        return cls(
            id=to_global_id("User", row.id),
            pk=row.id,
            name=row.name,
            email=row.email,
            created_at=row.created_at,
        )

    @strawberry.field(description="Issues assigned to this user, in workspaces you can see.")
    async def assigned_issues(
        self,
        info: Info,
        filter: refs.IssueFilter | None = None,
        order_by: list[refs.IssueOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[refs.Issue]:
        return await issue_types.issue_connection(
            info.context.loaders.issues_assigned_to_user,
            "assignedIssues",
            self.pk,
            filter=filter,
            order_by=order_by,
            first=first,
            after=after,
            last=last,
            before=before,
        )


async def user_or_none(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row is not None else None
