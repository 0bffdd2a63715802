"""Every `Node` type finds its rows by the loaders' naming rule (`<type>_by_id`), so `node(id:)`,
`nodes(ids:)` and the to-one links of every type have a loader to read them with."""

from __future__ import annotations

import pytest

import schema.build  # noqa: F401  (defines every type, so each `Node` subclass exists)
from db.loaders import Loaders
from schema.node import Node, node_type


def _concrete_node_types() -> list[type[Node]]:
    pending, found = list(Node.__subclasses__()), []
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if node_type(cls.__name__) is cls:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def test_the_types_are_found():
    names = {cls.__name__ for cls in _concrete_node_types()}
    assert {"Issue", "WorkflowState", "ActivityEntry", "WebhookDelivery", "ApiToken"} <= names


@pytest.mark.parametrize("cls", _concrete_node_types(), ids=lambda cls: cls.__name__)
def test_each_node_type_has_the_loader_its_name_gives(cls):
    assert hasattr(Loaders, cls.loader_name), cls.loader_name


def test_the_rule():
    from schema.issues import Issue
    from schema.workflow_states import WorkflowState

    assert (Issue.loader_name, WorkflowState.loader_name) == ("issue_by_id", "workflow_state_by_id")
