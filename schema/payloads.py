"""What every mutation's input and payload share: payloads made from what the use cases return
(`resolvers.mutations.Outcome`), and descriptions of common input fields."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from schema.user_errors import UserError

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolvers.mutations import Outcome

PayloadType = TypeVar("PayloadType")

# Input fields every mutation that takes them describes alike.
IDEMPOTENCY_KEY = (
    "Any string up to 255 characters, unique per intended change: a retry with the same key "
    "within 24 hours returns the first attempt's result without doing the work again."
)
EXPECTED_VERSION = (
    "The `version` you last read: if the object has changed since, nothing is written and the "
    "payload has a CONFLICT error with the current object."
)


def payload(
    cls: Callable[..., PayloadType], outcome: Outcome, **to_node: Callable[[Any], Any]
) -> PayloadType:
    """`cls` with the outcome's errors and values; a record (a row, or a list of rows) goes
    through its field's `to_node` mapper, plain values (IDs, secrets, times) as they are."""
    values = {}
    for name, value in outcome.values.items():
        mapper = to_node.get(name)
        if mapper is not None and value is not None:
            value = [mapper(item) for item in value] if isinstance(value, list) else mapper(value)
        elif not isinstance(value, str | datetime | None):
            raise TypeError(f"{name!r} holds a record: name its mapper")
        values[name] = value
    return cls(errors=[UserError.from_record(error) for error in outcome.errors], **values)
