"""Which to-one links (`execution.batching`) a selection reads on the objects a field returns.

A list's batch resolver that takes `joins` reads the links selected on its items with the page
itself (an issue's state and assignee with the page of issues); `node(id:)` reads those of the
object it finds with it. Both ask here, from the field's nodes in the document. Fields under
`@skip`/`@include` and fragments of any type condition count: a link read and not asked for
costs a join, never an answer, so the result depends on the document alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode
from graphql.type import GraphQLObjectType, get_named_type

from core.kept import KEPT_DOCUMENTS, KeptPer
from execution.batching import batch_resolver_of, link_of
from execution.graphql_internals import raw_resolve_info, strawberry_field

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from graphql import GraphQLOutputType
    from graphql.language import FragmentDefinitionNode, SelectionSetNode

NO_LINKS: frozenset[Any] = frozenset()


def links_selected(
    return_type: GraphQLOutputType,
    field_nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    item_type: GraphQLObjectType | None = None,
) -> frozenset[Any]:
    """The links selected on the items of a field of `return_type` (its objects, or the `nodes`
    and `edges { node }` of a connection); `item_type` names the items' type where the field
    returns an interface (`node(id:)`, once the object is found)."""
    named = get_named_type(return_type)
    selections = [node.selection_set for node in field_nodes if node.selection_set]
    if isinstance(named, GraphQLObjectType) and "nodes" in named.fields:
        selections = [
            *_selections_of(selections, "nodes", fragments),
            *_selections_of(_selections_of(selections, "edges", fragments), "node", fragments),
        ]
        named = get_named_type(named.fields["nodes"].type)
    if item_type is not None:
        named = item_type
    if not isinstance(named, GraphQLObjectType):
        return NO_LINKS
    links = set()
    for field_node in _fields_in(selections, fragments):
        field_def = named.fields.get(field_node.name.value)
        if field_def is not None:
            link = link_of(batch_resolver_of(strawberry_field(field_def)))
            if link is not None:
                links.add(link)
    return frozenset(links) if links else NO_LINKS


def links_selected_in(info: Any, type_name: str) -> frozenset[Any]:
    """The links a resolver's field selects on its result, an object of type `type_name`:
    found once per field of a parsed document (documents are parsed once per process, so the
    nodes' identity names them) and schema."""
    raw = raw_resolve_info(info)
    by_type = _SELECTED_IN.get(raw.schema, *raw.field_nodes)
    if by_type is None:
        by_type = _SELECTED_IN.keep({}, raw.schema, *raw.field_nodes)
    links = by_type.get(type_name)
    if links is None:
        item_type = raw.schema.get_type(type_name)
        links = by_type[type_name] = (
            links_selected(raw.return_type, raw.field_nodes, raw.fragments, item_type)
            if isinstance(item_type, GraphQLObjectType)
            else NO_LINKS
        )
    return links


# Per schema and field (its nodes), the links selected by the type of object found.
_SELECTED_IN: KeptPer[dict[str, frozenset[Any]]] = KeptPer(most=KEPT_DOCUMENTS)


def _selections_of(
    selections: list[SelectionSetNode], name: str, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[SelectionSetNode]:
    return [
        node.selection_set
        for node in _fields_in(selections, fragments)
        if node.name.value == name and node.selection_set is not None
    ]


def _fields_in(
    selections: list[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    """The fields of `selections`, through fragments (validation rules out cycles)."""
    for selection_set in selections:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from _fields_in([selection.selection_set], fragments)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    yield from _fields_in([fragment.selection_set], fragments)
