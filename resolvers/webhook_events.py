"""What a mutation's changes send to webhooks: one outbox message (kind `webhook`, target the
webhook) per subscribed, enabled webhook and event, written in the mutation's transaction, its
payload the envelope the receiver gets (README "Webhooks").

Called through `resolvers.reactions.react` for every mutation. A mutation whose changes map to
no event costs nothing; one whose workspaces have no subscribed webhook costs one indexed
statement (`db.webhooks.subscribed_webhooks`); only when some webhook wants an event are the
objects read, one statement per type of object. Kept apart from the webhook mutations
(`resolvers.webhooks`), which run through the mutation runner that calls this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from core.enums import WebhookEventType
from core.ids import to_global_id
from db import outbox
from db import webhooks as webhook_sql
from db.activity import REFERENCES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Select

    from db.activity import Change
    from resolvers.context import Context

PING = "webhook.ping"
"""The type of the envelope `webhookTest` sends."""

_E = WebhookEventType
EVENTS: dict[tuple[str, str], WebhookEventType] = {
    ("Issue", "CREATED"): _E.ISSUE_CREATED,
    ("Issue", "UPDATED"): _E.ISSUE_UPDATED,
    ("Issue", "ARCHIVED"): _E.ISSUE_UPDATED,
    ("Issue", "UNARCHIVED"): _E.ISSUE_UPDATED,
    ("Issue", "DELETED"): _E.ISSUE_DELETED,
    ("Comment", "CREATED"): _E.COMMENT_CREATED,
    ("Comment", "UPDATED"): _E.COMMENT_UPDATED,
    ("Comment", "DELETED"): _E.COMMENT_DELETED,
    ("Project", "CREATED"): _E.PROJECT_CREATED,
    ("Project", "UPDATED"): _E.PROJECT_UPDATED,
    ("Project", "ARCHIVED"): _E.PROJECT_UPDATED,
    ("Project", "UNARCHIVED"): _E.PROJECT_UPDATED,
    ("Project", "DELETED"): _E.PROJECT_DELETED,
    ("Label", "CREATED"): _E.LABEL_CREATED,
    ("Label", "UPDATED"): _E.LABEL_UPDATED,
    ("Label", "DELETED"): _E.LABEL_DELETED,
}
"""The activity log's (subject type, action) pairs that are webhook events; the rest (workflow
states, the workspace, members, invitations, webhooks, reorderings) send none."""

# Archiving is an update of the object; the log records it as an action, without a field.
_ARCHIVING = {"ARCHIVED": ("false", "true"), "UNARCHIVED": ("true", "false")}


@dataclass(slots=True)
class _Event:
    """One object's part of a mutation: everything it recorded about that object is one event
    (an issue update that changed three fields is one `issue.updated` with three changes)."""

    workspace_id: int
    subject_type: str
    subject_id: int
    actions: set[str] = field(default_factory=set)
    changes: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def type(self) -> WebhookEventType:
        action = next(
            (a for a in ("CREATED", "DELETED") if a in self.actions), next(iter(self.actions))
        )
        return EVENTS[(self.subject_type, action)]


def _events(changes: Sequence[Change]) -> list[_Event]:
    events: dict[tuple[int, str, int], _Event] = {}
    for change in changes:
        if (change.subject_type, change.action) not in EVENTS:
            continue
        key = (change.workspace_id, change.subject_type, change.subject_id)
        event = events.get(key) or events.setdefault(key, _Event(*key))
        event.actions.add(change.action)
        if change.action in _ARCHIVING:
            before, after = _ARCHIVING[change.action]
            event.changes.append({"field": "archived", "from": before, "to": after})
        elif change.action == "UPDATED" and change.field is not None:
            event.changes.append(
                {
                    "field": change.field,
                    "from": _shown(change.field, change.from_value),
                    "to": _shown(change.field, change.to_value),
                }
            )
    return list(events.values())


def _shown(field: str, value: str | None) -> str | None:
    """A logged value as the API shows it: a key as the global ID of what it names."""
    type_name = REFERENCES.get(field)
    if value is None or type_name is None or not value.isdigit():
        return value
    return to_global_id(type_name, int(value))


async def enqueue_deliveries(
    context: Context, actor_id: int | None, changes: Sequence[Change]
) -> None:
    """Write the deliveries of `changes` (a mutation's, about to commit) to the outbox."""
    events = _events(changes)
    if not events:
        return
    db = context.db
    subscribed = await db.fetch_all(
        webhook_sql.subscribed_webhooks(),
        {
            "workspace_ids": sorted({event.workspace_id for event in events}),
            "event_types": sorted({event.type.value for event in events}),
            "actor_id": actor_id,
        },
    )
    if not subscribed:
        return
    wanted = [
        (webhook, event)
        for webhook in subscribed
        for event in events
        if event.workspace_id == webhook.workspace_id and event.type.value in webhook.event_types
    ]
    objects = await _objects(context, [event for _, event in wanted])
    actor = None if actor_id is None else {"id": to_global_id("User", actor_id)}
    messages = []
    for webhook, event in wanted:
        subject = (event.subject_type, event.subject_id)
        data: dict[str, Any] = {
            "workspace": _workspace(webhook.workspace_id, webhook.workspace_slug),
            "actor": None if actor is None else {**actor, "name": webhook.actor_name},
            "object": objects.get(subject) or {"id": to_global_id(*subject)},
        }
        if event.type.value.endswith(".updated"):
            data["changes"] = event.changes
        envelope = {"type": event.type.value, "timestamp": _time(webhook.changed_at), "data": data}
        messages.append(outbox.NewMessage(webhook_sql.KIND, envelope, webhook.id))
    await outbox.enqueue(db, messages)


def ping_message(webhook_id: int, workspace_id: int, workspace_slug: str) -> outbox.NewMessage:
    """The message `webhookTest` writes: delivered, signed and retried like any other."""
    envelope = {
        "type": PING,
        "timestamp": _time(datetime.now(UTC)),
        "data": {
            "webhook": {"id": to_global_id("Webhook", webhook_id)},
            "workspace": _workspace(workspace_id, workspace_slug),
        },
    }
    return outbox.NewMessage(webhook_sql.KIND, envelope, webhook_id)


# ---- the objects, as the API shows them --------------------------------------------------------


def _workspace(workspace_id: int, slug: str) -> dict[str, Any]:
    return {"id": to_global_id("Workspace", workspace_id), "slug": slug}


def _time(value: datetime | date | None) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return None if value is None else value.isoformat()


def _value(value: Any) -> Any:
    """A value as the API shows it: times and dates in ISO 8601 (times in UTC), an enum by its
    name (which its value is)."""
    if isinstance(value, date):
        return _time(value)
    return value.value if isinstance(value, Enum) else value


def _columns(row: Any, *names: str) -> dict[str, Any]:
    """The columns `names` of `row` as the API shows them, named in camel case (`due_date` is
    `dueDate`)."""
    shown = {}
    for name in names:
        first, *rest = name.split("_")
        shown[first + "".join(word.capitalize() for word in rest)] = _value(getattr(row, name))
    return shown


def _ref(type_name: str, pk: int | None, **fields: Any) -> dict[str, Any] | None:
    return None if pk is None else {"id": to_global_id(type_name, pk), **fields}


def _issue(row: Any) -> dict[str, Any]:
    return {
        **_columns(row, "number", "title", "description", "priority", "estimate", "due_date"),
        "identifier": f"{row.project_key}-{row.number}",
        "state": _ref(
            "WorkflowState", row.state_id, name=row.state_name, type=_value(row.state_type)
        ),
        "assignee": _ref("User", row.assignee_id, name=row.assignee_name),
        "project": _ref("Project", row.project_id, key=row.project_key, name=row.project_name),
        "labels": [
            {"id": to_global_id("Label", pk), "name": name}
            for pk, name in zip(row.label_ids or (), row.label_names or (), strict=True)
        ],
        "parent": _ref(
            "Issue", row.parent_id, identifier=f"{row.parent_project_key}-{row.parent_number}"
        ),
        **_columns(row, "created_at", "updated_at", "archived_at"),
    }


def _comment(row: Any) -> dict[str, Any]:
    return {
        **_columns(row, "body", "created_at", "edited_at"),
        "issue": _ref("Issue", row.issue_id, identifier=f"{row.project_key}-{row.issue_number}"),
        "author": _ref("User", row.author_id, name=row.author_name),
    }


def _project(row: Any) -> dict[str, Any]:
    return {
        **_columns(row, "key", "name", "description", "created_at", "archived_at"),
        "lead": _ref("User", row.lead_id, name=row.lead_name),
    }


def _label(row: Any) -> dict[str, Any]:
    return _columns(row, "name", "color", "position")


_READERS: dict[str, tuple[Callable[[], Select[Any]], Callable[[Any], dict[str, Any]]]] = {
    "Issue": (webhook_sql.issue_objects, _issue),
    "Comment": (webhook_sql.comment_objects, _comment),
    "Project": (webhook_sql.project_objects, _project),
    "Label": (webhook_sql.label_objects, _label),
}


async def _objects(context: Context, events: list[_Event]) -> dict[tuple[str, int], Any]:
    """The current state of the objects of `events` that still exist, read after the
    mutation's writes in its transaction: one statement per type of object."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if "DELETED" not in event.actions:
            wanted.setdefault(event.subject_type, set()).add(event.subject_id)
    found: dict[tuple[str, int], Any] = {}
    for subject_type, ids in wanted.items():
        statement, shown = _READERS[subject_type]
        for row in await context.db.fetch_all(statement(), {"ids": sorted(ids)}):
            found[(subject_type, row.id)] = {"id": to_global_id(subject_type, row.id), **shown(row)}
    return found
