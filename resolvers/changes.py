"""Delta sync (`workspace.changes`): which objects a run of the activity log changed, and which
of them it deleted, so that an offline client applies each object once, as it is now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import BadUserInputError

if TYPE_CHECKING:
    from collections.abc import Sequence

DEFAULT_CHANGES = 100
MAX_CHANGES = 500
"""The most entries of the log one call reads: it answers in one statement, plus one batch per
type of object changed, whatever `first` is."""


def changes_limit(first: int | None) -> int:
    """How many entries to read for `first` (`DEFAULT_CHANGES` when null), refused past
    `MAX_CHANGES` or below 0."""
    if first is None:
        return DEFAULT_CHANGES
    if first < 0:
        raise BadUserInputError("`first` on `changes` cannot be negative.", argument="first")
    if first > MAX_CHANGES:
        raise BadUserInputError(
            f"`changes` reads at most {MAX_CHANGES} entries of the log a call; {first} were "
            "asked for.",
            argument="first",
            limit=MAX_CHANGES,
        )
    return first


@dataclass(frozen=True, slots=True)
class LastChange:
    """A subject of a run of entries, and whether its last entry there deleted it (ids are
    never reused: a deleted object stays deleted)."""

    subject_type: str
    subject_id: int
    deleted: bool


def last_changes(entries: Sequence[Any]) -> list[LastChange]:
    """Each subject of `entries` (activity rows, in stream order) once, in the order of its last
    entry.

    >>> from types import SimpleNamespace as Entry
    >>> [(c.subject_type, c.subject_id, c.deleted) for c in last_changes([
    ...     Entry(subject_type="Issue", subject_id=1, action="CREATED"),
    ...     Entry(subject_type="Label", subject_id=2, action="DELETED"),
    ...     Entry(subject_type="Issue", subject_id=1, action="UPDATED"),
    ... ])]
    [('Label', 2, True), ('Issue', 1, False)]
    """
    last: dict[tuple[str, int], str] = {}
    for entry in entries:
        subject = (entry.subject_type, entry.subject_id)
        # Popped first, so the dict's order is that of each subject's last entry.
        last.pop(subject, None)
        last[subject] = entry.action
    return [
        LastChange(subject_type, subject_id, action == "DELETED")
        for (subject_type, subject_id), action in last.items()
    ]
