"""The naming rules that tie a type's name to the names derived from it: the fields of payloads
(`WorkflowState`: `workflow_state`, `workflowState` in the schema), the loaders of rows
(`workflow_state_by_id`) and generated inputs and payloads (`workflow state`:
`WorkflowStateDeleteInput`)."""

from __future__ import annotations


def pascal_case(noun: str) -> str:
    """`workflow state`: `WorkflowState`."""
    return "".join(word.capitalize() for word in noun.split())


def snake_case(type_name: str) -> str:
    """`WorkflowState`: `workflow_state`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in type_name).lstrip("_")
