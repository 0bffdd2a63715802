"""`ActivityEntry`: one change in the activity log (who, when, which field, from, to)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import strawberry

from core.ids import to_global_id
from db.activity import REFERENCES, SUBJECT_TYPES
from resolvers.context import Context
from schema import refs
from schema.node import Node, node_type
from schema.relation_field import relation
from schema.relations import nodes_at, workspace_relation

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row


SUBJECT_TYPE_NAMES = f"{', '.join(SUBJECT_TYPES[:-1])} or {SUBJECT_TYPES[-1]}"
"""The types the activity log records changes of, as a sentence lists them."""


@strawberry.enum(description="What happened to the subject of an activity entry.")
class ActivityAction(Enum):
    CREATED = strawberry.enum_value(
        "CREATED", description="The subject was created (an issue, comment, project or label...)."
    )
    UPDATED = strawberry.enum_value("UPDATED", description="One field changed: see `field`.")
    ARCHIVED = strawberry.enum_value(
        "ARCHIVED",
        description="An issue or project was archived: kept, with its `archivedAt` set.",
    )
    UNARCHIVED = strawberry.enum_value(
        "UNARCHIVED", description="An archived issue or project was brought back."
    )
    DELETED = strawberry.enum_value(
        "DELETED",
        description="The subject was deleted: `subject` is null from then on, and its earlier "
        "entries stay.",
    )
    REORDERED = strawberry.enum_value(
        "REORDERED", description="A workspace's labels or states were put in a new order."
    )


def _value(field: str | None, value: str | None) -> str | None:
    """References are stored as keys and shown as global IDs (lists comma-separated)."""
    if value is None or field not in REFERENCES:
        return value
    type_name = REFERENCES[field]
    keys = [key for key in value.split(",") if key.isdigit()]
    return ",".join(to_global_id(type_name, int(key)) for key in keys) or None


async def nodes_by_reference(
    references: Sequence[tuple[str, int] | None], context: Context
) -> list[Any]:
    """The node each (type, key) names, through the scoped loaders; null if gone or unseen."""
    by_type: dict[str, list[int]] = defaultdict(list)
    for reference in references:
        if reference is not None and node_type(reference[0]) is not None:
            by_type[reference[0]].append(reference[1])
    found: dict[tuple[str, int], Any] = {}
    for type_name, keys in by_type.items():
        cls = node_type(type_name)
        assert cls is not None
        unique = list(dict.fromkeys(keys))
        nodes = await cls.resolve_nodes(context, unique)
        found.update(((type_name, key), node) for key, node in zip(unique, nodes, strict=True))
    return [found.get(reference) if reference is not None else None for reference in references]


async def _subjects(entries: list[ActivityEntry], context: Context) -> list[Any]:
    return await nodes_by_reference([(e.subject_type, e.subject_id) for e in entries], context)


def _referenced(entries: list[ActivityEntry], values: str) -> list[tuple[str, int] | None]:
    references: list[tuple[str, int] | None] = []
    for entry in entries:
        value = getattr(entry, values)
        type_name = REFERENCES.get(entry.field or "")
        single = type_name is not None and value is not None and value.isdigit()
        references.append((type_name, int(value)) if single else None)  # type: ignore[arg-type]
    return references


async def _from_nodes(entries: list[ActivityEntry], context: Context) -> list[Any]:
    return await nodes_by_reference(_referenced(entries, "stored_from"), context)


async def _to_nodes(entries: list[ActivityEntry], context: Context) -> list[Any]:
    return await nodes_by_reference(_referenced(entries, "stored_to"), context)


_issues = nodes_at(refs.Issue, "issue_id")
_actors = nodes_at(refs.User, "actor_id")


@strawberry.type(
    description="One change, in the workspace's ordered stream of changes: a workspace's "
    "entries are numbered in the order their changes were committed, so reading its stream "
    "`after` the last one seen never misses one. Across workspaces, ids say nothing of the "
    "order of commits."
)
class ActivityEntry(Node):
    workspace_id: strawberry.Private[int]
    actor_id: strawberry.Private[int | None]
    issue_id: strawberry.Private[int | None]
    subject_type: str = strawberry.field(
        description=f"The type of the object changed: {SUBJECT_TYPE_NAMES}."
    )
    subject_id: strawberry.Private[int]
    stored_from: strawberry.Private[str | None]
    stored_to: strawberry.Private[str | None]
    action: ActivityAction = strawberry.field(description="What happened to `subject`.")
    field: str | None = strawberry.field(
        description="For UPDATED: the field that changed, named as in the API (`state`, "
        "`assignee`, `labels`, `dueDate`...). For REORDERED: `labels` or `states`."
    )
    from_value: str | None = strawberry.field(
        description="The value before: text, a number, an enum name, an ISO date, or the ID of "
        "the object referred to (for `labels`, the label removed). Null for descriptions and "
        "comment bodies, whose text is not copied into the log."
    )
    to_value: str | None = strawberry.field(
        description="The value after, as `fromValue` (for `labels`, the label added)."
    )
    created_at: datetime = strawberry.field(
        description="When the change was made: the start of its transaction, so the entries of "
        "one mutation share it."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> ActivityEntry:
        return super().from_row(
            row,
            stored_from=row.from_value,
            stored_to=row.to_value,
            action=ActivityAction(row.action),
            from_value=_value(row.field, row.from_value),
            to_value=_value(row.field, row.to_value),
        )

    actor = relation(
        _actors,
        refs.User | None,
        description="Who made the change; null once their account is gone.",
    )

    subject = relation(
        _subjects, Node | None, description="The object changed, as it is now; null once deleted."
    )

    issue = relation(
        _issues,
        refs.Issue | None,
        description="The issue the change belongs to (an issue's or its comment's change).",
    )

    from_node = relation(
        _from_nodes,
        Node | None,
        description="The object `fromValue` refers to, if it is a reference and still exists.",
    )

    to_node = relation(
        _to_nodes,
        Node | None,
        description="The object `toValue` refers to, if it is a reference and still exists.",
    )

    workspace = workspace_relation("The workspace whose stream the entry is in.")
