"""The `User` type."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import accounts
from resolvers.context import Info
from schema import accounts as account_types
from schema import notifications as inbox
from schema import refs
from schema.issue_filters import issue_lists
from schema.node import Node
from schema.pagination import Connection
from schema.relation_field import relation

_assigned_issues = issue_lists("issues_assigned_to_user", "assignedIssues")


@strawberry.type(description="A person with an account.")
class User(Node):
    name: str = strawberry.field(description="What others see them as.")
    email: str = strawberry.field(
        description="What they sign in with; shown to those who share a workspace with them."
    )
    created_at: datetime = strawberry.field(description="When they signed up.")

    @strawberry.field(
        description="Your personal API tokens that are not revoked, newest first; null on "
        "anyone else."
    )
    async def api_tokens(self, info: Info) -> list[refs.ApiToken] | None:
        rows = await accounts.api_tokens_of(info.context, self.pk)
        return None if rows is None else [account_types.ApiToken.from_row(row) for row in rows]

    assigned_issues = relation(
        _assigned_issues,
        Connection[refs.Issue],
        description="Issues assigned to this user, in workspaces you can see.",
    )

    notifications = inbox.user_notifications()

    unread_notification_count = inbox.user_unread_notification_count()

    notification_preferences = inbox.user_notification_preferences()
