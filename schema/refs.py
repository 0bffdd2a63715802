"""Lazy references between the type modules, which refer to one another in cycles
(an issue has comments, a comment has an issue); Strawberry resolves them when the schema is built.
"""

from __future__ import annotations

from strawberry.types.lazy_type import LazyType

ActivityEntry = LazyType("ActivityEntry", "schema.activity")
ApiToken = LazyType("ApiToken", "schema.accounts")
Comment = LazyType("Comment", "schema.comments")
Invitation = LazyType("Invitation", "schema.workspaces")
Issue = LazyType("Issue", "schema.issues")
Label = LazyType("Label", "schema.labels")
Membership = LazyType("Membership", "schema.workspaces")
Notification = LazyType("Notification", "schema.notifications")
Project = LazyType("Project", "schema.projects")
User = LazyType("User", "schema.users")
Webhook = LazyType("Webhook", "schema.webhooks")
WebhookDelivery = LazyType("WebhookDelivery", "schema.webhooks")
WorkflowState = LazyType("WorkflowState", "schema.workflow_states")
Workspace = LazyType("Workspace", "schema.workspaces")
