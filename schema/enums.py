"""GraphQL enums: the same Python enums the database columns use, so rows map without copying."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

import strawberry

from core import enums

EnumType = TypeVar("EnumType", bound=type[Enum])


def described_enum(cls: EnumType, description: str, values: dict[str, str]) -> EnumType:
    """`strawberry.enum` for an enum of `core` (whose values the database and the API share),
    with a description for each member.

    The layers below share its plain values (database columns, use cases), so they cannot be
    `strawberry.enum_value`s: the descriptions are given by member name, and must cover every
    member.
    """
    graphql_enum = strawberry.enum(cls, description=description)
    definition = graphql_enum.__strawberry_definition__  # type: ignore[attr-defined]
    if missing := {value.name for value in definition.values} - values.keys():
        raise ValueError(f"{cls.__name__}: no description for {sorted(missing)}")
    for value in definition.values:
        value.description = values[value.name]
    return graphql_enum


Role = described_enum(
    enums.Role,
    "A member's role in a workspace; each role may do everything the roles below it may.",
    {
        "OWNER": "Also changes the workspace's slug, deletes it, and gives, takes or removes the "
        "OWNER role. A workspace always keeps at least one.",
        "ADMIN": "Also manages members (other than owners) and invitations, projects, labels, "
        "workflow states and the workspace's name, and deletes anyone's issues and comments.",
        "MEMBER": "Also creates, changes and archives issues, and deletes those they created.",
        "GUEST": "Reads everything in the workspace, and comments.",
    },
)
WorkflowStateType = described_enum(
    enums.WorkflowStateType,
    "The category of a workflow state: what being in it says about an issue's progress.",
    {
        "BACKLOG": "Not planned yet.",
        "UNSTARTED": "Planned, not started (such as Todo). A new issue without a state goes to "
        "the leftmost BACKLOG or UNSTARTED state.",
        "STARTED": "Being worked on (such as In Progress or In Review).",
        "COMPLETED": "Done.",
        "CANCELED": "Closed without being done (won't do, duplicate).",
    },
)
Priority = described_enum(
    enums.Priority,
    "How urgent an issue is, from URGENT to NONE.",
    {
        "URGENT": "Needs attention now.",
        "HIGH": "Next, before anything of MEDIUM or LOW priority.",
        "MEDIUM": "In the normal course of work.",
        "LOW": "When there is time.",
        "NONE": "No priority given (the default); sorts after LOW.",
    },
)
TokenScope = described_enum(
    enums.TokenScope,
    "What a personal API token may do: READ (queries only) or READ_WRITE.",
    {
        "READ": "Queries only: every mutation is refused.",
        "READ_WRITE": "Queries and mutations, with its owner's roles; passwords and API tokens "
        "are still managed only in a signed-in session.",
    },
)


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: smallest, earliest, A first.")
    DESC = strawberry.enum_value("DESC", description="Descending: largest, latest, Z first.")


@strawberry.enum(
    description="What issues can be ordered by. Ties are broken by the issue's creation "
    "sequence, in the direction of the last key."
)
class IssueOrderField(Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When the issue was created.")
    UPDATED_AT = strawberry.enum_value("UPDATED_AT", description="When the issue last changed.")
    PRIORITY = strawberry.enum_value(
        "PRIORITY", description="Priority; ascending is the most urgent first, NONE last."
    )
    DUE_DATE = strawberry.enum_value(
        "DUE_DATE", description="Due date; ascending is the soonest first. Undated issues last."
    )
    ESTIMATE = strawberry.enum_value(
        "ESTIMATE", description="Estimate; unestimated issues come last either way."
    )
    POSITION = strawberry.enum_value(
        "POSITION", description="The manual order (drag and drop); ascending is top first."
    )


WebhookEventType = described_enum(
    enums.WebhookEventType,
    "What a webhook may subscribe to; the envelope's `type` is its lower-case, dotted form "
    "(`issue.updated`).",
    {
        "ISSUE_CREATED": "An issue was created (`issue.created`).",
        "ISSUE_UPDATED": "Fields or labels of an issue changed, or it was archived or brought "
        "back; one event per issue and mutation, with every change (`issue.updated`).",
        "ISSUE_DELETED": "An issue was deleted (`issue.deleted`).",
        "COMMENT_CREATED": "A comment was posted (`comment.created`).",
        "COMMENT_UPDATED": "A comment was edited (`comment.updated`).",
        "COMMENT_DELETED": "A comment was deleted (`comment.deleted`).",
        "PROJECT_CREATED": "A project was created (`project.created`).",
        "PROJECT_UPDATED": "A project changed, or was archived or brought back "
        "(`project.updated`).",
        "PROJECT_DELETED": "A project was deleted (`project.deleted`; projects are archived, "
        "not deleted, today).",
        "LABEL_CREATED": "A label was created (`label.created`).",
        "LABEL_UPDATED": "A label was renamed or recoloured (`label.updated`).",
        "LABEL_DELETED": "A label was deleted (`label.deleted`); its issues each get an "
        "`issue.updated`.",
    },
)


NotificationKind = described_enum(
    enums.NotificationKind,
    "What a notification is about; when one change gives you several reasons, you get the "
    "first of them in this order.",
    {
        "ASSIGNED": "You were assigned the issue (on creation or since).",
        "MENTIONED": "Your `@handle` was added to the issue's description or to a comment.",
        "STATE_CHANGED": "An issue you follow changed state.",
        "COMMENTED": "Someone commented on an issue you follow.",
    },
)
