"""The root `Mutation` type, assembled from each domain's mutations."""

from __future__ import annotations

import strawberry

from schema.accounts import AccountMutations
from schema.comments import CommentMutations
from schema.issues import IssueMutations
from schema.labels import LabelMutations
from schema.notifications import NotificationMutations
from schema.projects import ProjectMutations
from schema.webhooks import WebhookMutations
from schema.workflow_states import WorkflowStateMutations
from schema.workspaces import WorkspaceMutations


# The schema lists the bases' fields in this order.
@strawberry.type(
    description="What can be changed. Each mutation is one transaction: it returns the object "
    "it changed, or `errors` saying why nothing was changed. Every field is nullable: when one "
    "mutation of a document fails with a GraphQL error (its field is null), the results of "
    "those that ran before it still come back."
)
class Mutation(
    ProjectMutations,
    IssueMutations,
    CommentMutations,
    LabelMutations,
    WorkflowStateMutations,
    AccountMutations,
    WorkspaceMutations,
    WebhookMutations,
    NotificationMutations,
):
    pass
