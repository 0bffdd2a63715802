"""Checks of mutation input shared by every tracker mutation: text limits and global IDs.

Each check returns `UserError`s (nothing raised), so one response can name every problem.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from core.errors import NotFoundError, UserError, UserErrorCode, user_error
from core.ids import pk_of
from core.text import unstorable_text

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_TITLE = 255
MAX_NAME = 100
"""Names of labels, workflow states and API tokens."""
MAX_DISPLAY_NAME = 200
"""The names people see of users, workspaces and projects."""
MAX_EMAIL = 320
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)+")
"""A mailbox we can send to as it is written: a dot-atom local part (letters, digits and
`.!#$%&'*+/=?^_`{|}~-`) at a domain of dotted labels. What else RFC 5322 allows (quoted
strings, comments, `:;<>,` and the like) is refused: such an address would be read another way
by the mail server, or make the email unsendable."""
MAX_BODY_BYTES = 64 * 1024
"""Descriptions and comments: 64 KiB of UTF-8."""


def text_errors(value: str, *field: str) -> list[UserError]:
    problem = unstorable_text(value)
    if problem is None:
        return []
    return [user_error(UserErrorCode.INVALID_INPUT, f"The text {problem}.", *field)]


def email_errors(email: str, *field: str) -> list[UserError]:
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        return [user_error(UserErrorCode.INVALID_INPUT, "Not an email address.", *field)]
    return []


def title_errors(title: str, *field: str) -> list[UserError]:
    return _short_text_errors(title, "A title", MAX_TITLE, field, say_length=True)


def name_errors(name: str, *field: str, limit: int = MAX_NAME) -> list[UserError]:
    return _short_text_errors(name, "A name", limit, field)


def _short_text_errors(
    text: str, noun: str, limit: int, field: tuple[str, ...], *, say_length: bool = False
) -> list[UserError]:
    """A required text of at most `limit` characters: storable, not blank, not too long."""
    if text_errors(text):
        return text_errors(text, *field)
    if not text.strip():
        return [user_error(UserErrorCode.INVALID_INPUT, f"{noun} cannot be blank.", *field)]
    if len(text) > limit:
        given = f" ({len(text)} given)" if say_length else ""
        message = f"{noun} is at most {limit} characters{given}."
        return [user_error(UserErrorCode.INVALID_INPUT, message, *field)]
    return []


def body_errors(body: str, *field: str, required: bool = False) -> list[UserError]:
    if text_errors(body):
        return text_errors(body, *field)
    if required and not body.strip():
        return [user_error(UserErrorCode.INVALID_INPUT, "A comment cannot be blank.", *field)]
    size = len(body.encode())
    if size > MAX_BODY_BYTES:
        return [
            user_error(
                UserErrorCode.INVALID_INPUT,
                f"Text is at most {MAX_BODY_BYTES} bytes of UTF-8 ({size} given).",
                *field,
            )
        ]
    return []


def target_pk(global_id: str, type_name: str) -> int:
    """The key of the object a mutation acts on; an ID of anything else is simply not found."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFoundError(f"{_spaced(type_name)} not found.")
    return pk


def reference_pks(
    global_ids: Sequence[str], type_name: str, *field: str
) -> tuple[list[int], list[UserError]]:
    """Keys of IDs an input points at; an ID of another type is a NOT_FOUND input error."""
    positions, errors = indexed_pks(global_ids, type_name, *field)
    return [key for _, key in positions], errors


def indexed_pks(
    global_ids: Sequence[str], type_name: str, *field: str
) -> tuple[list[tuple[int, int]], list[UserError]]:
    """(index in the input, key) of each ID of `type_name`; the others are NOT_FOUND errors
    at their index."""
    positions, errors = [], []
    for index, global_id in enumerate(global_ids):
        pk = pk_of(global_id, type_name)
        if pk is None:
            errors.append(not_found(type_name, *field, str(index)))
        else:
            positions.append((index, pk))
    return positions, errors


def not_found(type_name: str, *field: str) -> UserError:
    """A referenced object that does not exist, or not in this workspace (the same answer)."""
    return user_error(
        UserErrorCode.NOT_FOUND, f"{_spaced(type_name)} not found in this workspace.", *field
    )


def conflict(noun: str, expected: int, current: int) -> UserError:
    """`expectedVersion` is not the object's version: someone changed it since."""
    return user_error(
        UserErrorCode.CONFLICT,
        f"The {noun} changed since version {expected}: it is at version {current}. "
        "Nothing was written.",
        "expectedVersion",
    )


def _spaced(type_name: str) -> str:
    return "".join(f" {c.lower()}" if c.isupper() else c for c in type_name).strip().capitalize()
