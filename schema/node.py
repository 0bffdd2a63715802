"""The Relay `Node` interface (global IDs themselves are `core.ids`)."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")
