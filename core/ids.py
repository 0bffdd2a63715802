"""Backlog's opaque global IDs: `base64url("<TypeName>:<primary key>")`, one spelling each."""

from __future__ import annotations

import base64
import binascii

MAX_BIGINT = 2**63 - 1


def to_global_id(type_name: str, pk: int) -> str:
    """
    >>> to_global_id("Issue", 42)
    'SXNzdWU6NDI'
    """
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """(type name, primary key), or None when `global_id` is not one of ours.

    >>> from_global_id("SXNzdWU6NDI"), from_global_id("SXNzdWU6NDI=")
    (('Issue', 42), None)
    """
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


def pk_of(global_id: str, type_name: str) -> int | None:
    """The primary key `global_id` names if it is an ID of `type_name`, else None."""
    decoded = from_global_id(global_id)
    return decoded[1] if decoded is not None and decoded[0] == type_name else None
