"""The tracker's mutations (projects, issues, comments, labels, workflow states), each one
transaction; part of the root `Mutation` type."""

from __future__ import annotations

import strawberry

from resolvers import comment_writes, issue_writes, workflow_writes
from resolvers.context import Info
from schema.comment_mutations import (
    CommentCreateInput,
    CommentDeleteInput,
    CommentDeletePayload,
    CommentPayload,
    CommentUpdateInput,
)
from schema.comments import Comment
from schema.issue_mutations import (
    IssueArchiveInput,
    IssueBatchPayload,
    IssueBatchUpdateInput,
    IssueCreateInput,
    IssueDeleteInput,
    IssueDeletePayload,
    IssuePayload,
    IssueUpdateInput,
)
from schema.issues import Issue
from schema.labels import Label
from schema.payloads import payload
from schema.projects import Project
from schema.workflow_mutations import (
    LabelCreateInput,
    LabelDeleteInput,
    LabelDeletePayload,
    LabelPayload,
    LabelReorderInput,
    LabelReorderPayload,
    LabelUpdateInput,
    ProjectArchiveInput,
    ProjectCreateInput,
    ProjectPayload,
    ProjectUpdateInput,
    WorkflowStateCreateInput,
    WorkflowStateDeleteInput,
    WorkflowStateDeletePayload,
    WorkflowStatePayload,
    WorkflowStateReorderInput,
    WorkflowStateReorderPayload,
    WorkflowStateUpdateInput,
)
from schema.workflow_states import WorkflowState


@strawberry.type
class TrackerMutation:
    @strawberry.mutation(description="Create a project (ADMIN+).")
    async def project_create(self, info: Info, input: ProjectCreateInput) -> ProjectPayload | None:
        outcome = await workflow_writes.project_create(info.context, input)
        return payload(ProjectPayload, outcome, project=Project.from_row)

    @strawberry.mutation(description="Rename a project, or change its description or lead.")
    async def project_update(self, info: Info, input: ProjectUpdateInput) -> ProjectPayload | None:
        outcome = await workflow_writes.project_update(info.context, input)
        return payload(ProjectPayload, outcome, project=Project.from_row)

    @strawberry.mutation(
        description="Archive a project (ADMIN+): its issues stay; no new ones can be added."
    )
    async def project_archive(
        self, info: Info, input: ProjectArchiveInput
    ) -> ProjectPayload | None:
        outcome = await workflow_writes.project_set_archived(info.context, input, archived=True)
        return payload(ProjectPayload, outcome, project=Project.from_row)

    @strawberry.mutation(description="Bring an archived project back (ADMIN+).")
    async def project_unarchive(
        self, info: Info, input: ProjectArchiveInput
    ) -> ProjectPayload | None:
        outcome = await workflow_writes.project_set_archived(info.context, input, archived=False)
        return payload(ProjectPayload, outcome, project=Project.from_row)

    @strawberry.mutation(
        description="Create an issue (MEMBER+). It takes its project's next number, without "
        "gaps or duplicates however many are created at once."
    )
    async def issue_create(self, info: Info, input: IssueCreateInput) -> IssuePayload | None:
        outcome = await issue_writes.issue_create(info.context, input)
        return payload(IssuePayload, outcome, issue=Issue.from_row)

    @strawberry.mutation(
        description="Change an issue (MEMBER+): only the fields given, so concurrent changes "
        "to other fields are kept. With `expectedVersion`, a concurrent change is a CONFLICT."
    )
    async def issue_update(self, info: Info, input: IssueUpdateInput) -> IssuePayload | None:
        outcome = await issue_writes.issue_update(info.context, input)
        return payload(IssuePayload, outcome, issue=Issue.from_row)

    @strawberry.mutation(
        description="Apply the same changes to up to 50 issues in one transaction: all or none."
    )
    async def issue_batch_update(
        self, info: Info, input: IssueBatchUpdateInput
    ) -> IssueBatchPayload | None:
        outcome = await issue_writes.issue_batch_update(info.context, input)
        return payload(IssueBatchPayload, outcome, issues=Issue.from_row)

    @strawberry.mutation(
        description="Archive an issue (MEMBER+): it leaves lists unless `includeArchived`."
    )
    async def issue_archive(self, info: Info, input: IssueArchiveInput) -> IssuePayload | None:
        outcome = await issue_writes.issue_set_archived(info.context, input, archived=True)
        return payload(IssuePayload, outcome, issue=Issue.from_row)

    @strawberry.mutation(description="Bring an archived issue back (MEMBER+).")
    async def issue_unarchive(self, info: Info, input: IssueArchiveInput) -> IssuePayload | None:
        outcome = await issue_writes.issue_set_archived(info.context, input, archived=False)
        return payload(IssuePayload, outcome, issue=Issue.from_row)

    @strawberry.mutation(
        description="Delete an issue with its comments (its creator, or ADMIN+); sub-issues "
        "become top-level. Its history stays in the workspace's activity."
    )
    async def issue_delete(self, info: Info, input: IssueDeleteInput) -> IssueDeletePayload | None:
        outcome = await issue_writes.issue_delete(info.context, input)
        return payload(IssueDeletePayload, outcome)

    @strawberry.mutation(description="Comment on an issue (any member, GUEST included).")
    async def comment_create(self, info: Info, input: CommentCreateInput) -> CommentPayload | None:
        outcome = await comment_writes.comment_create(info.context, input)
        return payload(CommentPayload, outcome, comment=Comment.from_row)

    @strawberry.mutation(description="Edit your own comment.")
    async def comment_update(self, info: Info, input: CommentUpdateInput) -> CommentPayload | None:
        outcome = await comment_writes.comment_update(info.context, input)
        return payload(CommentPayload, outcome, comment=Comment.from_row)

    @strawberry.mutation(description="Delete a comment (its author, or ADMIN+).")
    async def comment_delete(
        self, info: Info, input: CommentDeleteInput
    ) -> CommentDeletePayload | None:
        outcome = await comment_writes.comment_delete(info.context, input)
        return payload(CommentDeletePayload, outcome)

    @strawberry.mutation(description="Create a label (ADMIN+).")
    async def label_create(self, info: Info, input: LabelCreateInput) -> LabelPayload | None:
        outcome = await workflow_writes.label_create(info.context, input)
        return payload(LabelPayload, outcome, label=Label.from_row)

    @strawberry.mutation(description="Rename or recolour a label (ADMIN+).")
    async def label_update(self, info: Info, input: LabelUpdateInput) -> LabelPayload | None:
        outcome = await workflow_writes.label_update(info.context, input)
        return payload(LabelPayload, outcome, label=Label.from_row)

    @strawberry.mutation(description="Delete a label (ADMIN+); issues lose it.")
    async def label_delete(self, info: Info, input: LabelDeleteInput) -> LabelDeletePayload | None:
        outcome = await workflow_writes.label_delete(info.context, input)
        return payload(LabelDeletePayload, outcome)

    @strawberry.mutation(description="Put a workspace's labels in a new order (ADMIN+).")
    async def label_reorder(
        self, info: Info, input: LabelReorderInput
    ) -> LabelReorderPayload | None:
        outcome = await workflow_writes.label_reorder(info.context, input)
        return payload(LabelReorderPayload, outcome, labels=Label.from_row)

    @strawberry.mutation(description="Add a workflow state, rightmost on the board (ADMIN+).")
    async def workflow_state_create(
        self, info: Info, input: WorkflowStateCreateInput
    ) -> WorkflowStatePayload | None:
        outcome = await workflow_writes.workflow_state_create(info.context, input)
        return payload(WorkflowStatePayload, outcome, workflow_state=WorkflowState.from_row)

    @strawberry.mutation(description="Rename a workflow state or change its type (ADMIN+).")
    async def workflow_state_update(
        self, info: Info, input: WorkflowStateUpdateInput
    ) -> WorkflowStatePayload | None:
        outcome = await workflow_writes.workflow_state_update(info.context, input)
        return payload(WorkflowStatePayload, outcome, workflow_state=WorkflowState.from_row)

    @strawberry.mutation(
        description="Delete a workflow state (ADMIN+), moving its issues to another state."
    )
    async def workflow_state_delete(
        self, info: Info, input: WorkflowStateDeleteInput
    ) -> WorkflowStateDeletePayload | None:
        outcome = await workflow_writes.workflow_state_delete(info.context, input)
        return payload(WorkflowStateDeletePayload, outcome)

    @strawberry.mutation(description="Put a workspace's board columns in a new order (ADMIN+).")
    async def workflow_state_reorder(
        self, info: Info, input: WorkflowStateReorderInput
    ) -> WorkflowStateReorderPayload | None:
        outcome = await workflow_writes.workflow_state_reorder(info.context, input)
        return payload(WorkflowStateReorderPayload, outcome, workflow_states=WorkflowState.from_row)
