"""The SELECTs behind every loader, each already scoped to what a viewer may read.

Each function returns a `Select` whose rows carry the labels the GraphQL types read. Scoping is
decided by `auth.policies.readable_workspace_ids`, applied here in SQL so that a row the viewer may
not see never leaves the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select

from auth.policies import readable_workspace_ids
from db import models
from db.pagination import among

if TYPE_CHECKING:
    from sqlalchemy import Select

    from auth.viewer import Viewer

users = models.User.__table__
workspaces = models.Workspace.__table__
memberships = models.Membership.__table__
projects = models.Project.__table__
workflow_states = models.WorkflowState.__table__
labels = models.Label.__table__
issues = models.Issue.__table__
issue_labels = models.IssueLabel.__table__
comments = models.Comment.__table__

USER_COLUMNS = (users.c.id, users.c.email, users.c.name, users.c.created_at)
ISSUE_COLUMNS = (*issues.c, projects.c.key.label("project_key"))


def visible_users(viewer: Viewer) -> Select[Any]:
    """Users who are the viewer or share a workspace with them."""
    shares_workspace = exists().where(
        memberships.c.user_id == users.c.id,
        among(memberships.c.workspace_id, readable_workspace_ids(viewer)),
    )
    return select(*USER_COLUMNS).where(
        (users.c.id == viewer.user_id) | shares_workspace
        if viewer.user_id is not None
        else shares_workspace
    )


def visible_workspaces(viewer: Viewer) -> Select[Any]:
    return select(workspaces).where(among(workspaces.c.id, readable_workspace_ids(viewer)))


def _in_workspaces(table: Any, viewer: Viewer, *columns: Any) -> Select[Any]:
    return select(*(columns or table.c)).where(
        among(table.c.workspace_id, readable_workspace_ids(viewer))
    )


def visible_memberships(viewer: Viewer) -> Select[Any]:
    return _in_workspaces(memberships, viewer)


def visible_projects(viewer: Viewer) -> Select[Any]:
    return _in_workspaces(projects, viewer)


def visible_workflow_states(viewer: Viewer) -> Select[Any]:
    return _in_workspaces(workflow_states, viewer)


def visible_labels(viewer: Viewer) -> Select[Any]:
    return _in_workspaces(labels, viewer)


def visible_issues(viewer: Viewer) -> Select[Any]:
    return (
        select(*ISSUE_COLUMNS)
        .select_from(issues.join(projects, projects.c.id == issues.c.project_id))
        .where(among(issues.c.workspace_id, readable_workspace_ids(viewer)))
    )


def countable_issues(viewer: Viewer) -> Select[Any]:
    """`visible_issues` without the join that only supplies `project_key`: for counting."""
    return select(issues.c.id).where(among(issues.c.workspace_id, readable_workspace_ids(viewer)))


def visible_comments(viewer: Viewer) -> Select[Any]:
    return _in_workspaces(comments, viewer)


def issue_labels_of(viewer: Viewer) -> Select[Any]:
    """Labels joined to the issues they are attached to (the parent is `issue_labels.issue_id`)."""
    return (
        select(*labels.c)
        .select_from(labels.join(issue_labels, issue_labels.c.label_id == labels.c.id))
        .where(among(issue_labels.c.workspace_id, readable_workspace_ids(viewer)))
    )


def viewer_identity() -> Select[Any]:
    """A user with every (workspace, role) they hold, in one row: the request's first statement."""

    return (
        select(
            users.c.id,
            func.array_remove(func.array_agg(memberships.c.workspace_id), None).label(
                "workspace_ids"
            ),
            func.array_remove(func.array_agg(memberships.c.role), None).label("roles"),
        )
        .select_from(users.outerjoin(memberships, memberships.c.user_id == users.c.id))
        .group_by(users.c.id)
    )


@dataclass(frozen=True, slots=True)
class IssueFilter:
    """A hashable issue filter, so equal filters from different fields batch together."""

    state_ids: tuple[int, ...] | None = None
    state_types: tuple[models.WorkflowStateType, ...] | None = None
    priorities: tuple[models.Priority, ...] | None = None
    assignee_ids: tuple[int, ...] | None = None
    unassigned: bool | None = None
    project_ids: tuple[int, ...] | None = None
    label_ids: tuple[int, ...] | None = None
    due_before: date | None = None
    include_archived: bool = False

    def apply(self, query: Select[Any]) -> Select[Any]:
        if not self.include_archived:
            query = query.where(issues.c.archived_at.is_(None))
        if self.state_ids is not None:
            query = query.where(among(issues.c.state_id, self.state_ids))
        if self.state_types is not None:
            query = query.where(
                issues.c.state_id.in_(
                    select(workflow_states.c.id).where(workflow_states.c.type.in_(self.state_types))
                )
            )
        if self.priorities is not None:
            query = query.where(issues.c.priority.in_(self.priorities))
        if self.assignee_ids is not None or self.unassigned:
            assigned = among(issues.c.assignee_id, self.assignee_ids or ())
            query = query.where(
                assigned | issues.c.assignee_id.is_(None) if self.unassigned else assigned
            )
        elif self.unassigned is False:
            query = query.where(issues.c.assignee_id.is_not(None))
        if self.project_ids is not None:
            query = query.where(among(issues.c.project_id, self.project_ids))
        if self.label_ids is not None:
            query = query.where(
                exists().where(
                    issue_labels.c.issue_id == issues.c.id,
                    among(issue_labels.c.label_id, self.label_ids),
                )
            )
        if self.due_before is not None:
            query = query.where(issues.c.due_date < self.due_before)
        return query
