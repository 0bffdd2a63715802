"""The domain's enums. Their values are the database's (PostgreSQL enum types) and the GraphQL
API's names alike, so a row maps to the API without copying."""

from __future__ import annotations

import enum


class Role(enum.Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"
    GUEST = "GUEST"


class WorkflowStateType(enum.Enum):
    BACKLOG = "BACKLOG"
    UNSTARTED = "UNSTARTED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class TokenScope(enum.Enum):
    READ = "READ"
    READ_WRITE = "READ_WRITE"


class Priority(enum.Enum):
    # Declared most urgent first: PostgreSQL orders enum values by declaration, so ORDER BY
    # priority is urgent-to-none and an index on it serves that order.
    URGENT = "URGENT"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    NONE = "NONE"


class WebhookEventType(enum.Enum):
    """What a webhook may subscribe to; the values are the envelope's `type` (and what
    `webhooks.event_types` stores), the names the API's."""

    ISSUE_CREATED = "issue.created"
    ISSUE_UPDATED = "issue.updated"
    ISSUE_DELETED = "issue.deleted"
    COMMENT_CREATED = "comment.created"
    COMMENT_UPDATED = "comment.updated"
    COMMENT_DELETED = "comment.deleted"
    PROJECT_CREATED = "project.created"
    PROJECT_UPDATED = "project.updated"
    PROJECT_DELETED = "project.deleted"
    LABEL_CREATED = "label.created"
    LABEL_UPDATED = "label.updated"
    LABEL_DELETED = "label.deleted"


class NotificationKind(enum.Enum):
    # Most specific first: when one mutation gives a user several reasons to be told, the
    # first of them in this order is the one notification they get.
    ASSIGNED = "ASSIGNED"
    MENTIONED = "MENTIONED"
    STATE_CHANGED = "STATE_CHANGED"
    COMMENTED = "COMMENTED"
