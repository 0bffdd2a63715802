"""The Relay `Node` interface and Backlog's opaque global IDs."""

from __future__ import annotations

import base64
import binascii

import strawberry

MAX_BIGINT = 2**63 - 1


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    raw = f"{type_name}:{pk}".encode()
    return strawberry.ID(base64.urlsafe_b64encode(raw).decode().rstrip("="))


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key), or None when `global_id` is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
        type_name, _, pk = raw.partition(":")
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not type_name or not 0 < number <= MAX_BIGINT or str(number) != pk:
        return None
    # One spelling per object: base64 decoding skips stray characters, so without this two
    # strings would name it (and a retry spelling it otherwise would look like another input).
    if to_global_id(type_name, number) != global_id:
        return None
    return type_name, number
