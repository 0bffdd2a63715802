"""GraphQL enums: the same Python enums the database columns use, so rows map without copying."""

from __future__ import annotations

from enum import Enum

import strawberry

from db import models

Role = strawberry.enum(models.Role, description="A member's role in a workspace.")
WorkflowStateType = strawberry.enum(
    models.WorkflowStateType, description="The category of a workflow state."
)
Priority = strawberry.enum(models.Priority, description="How urgent an issue is.")
TokenScope = strawberry.enum(
    models.TokenScope,
    description="What a personal API token may do: READ (queries only) or READ_WRITE.",
)


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="What issues can be ordered by.")
class IssueOrderField(Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    PRIORITY = "PRIORITY"
