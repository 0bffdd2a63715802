"""Issue filters as specs: equal filters are equal, and a spec's shape (what its SQL looks like)
ignores the values, so filters differing in values only batch and cache together."""

from __future__ import annotations

from schema.enums import Priority
from schema.issue_filters import IssueFilter, PriorityComparator, filter_spec


def test_equal_filters_are_equal_and_shapes_ignore_values():
    high = filter_spec(IssueFilter(priority=PriorityComparator(eq=Priority.HIGH)))
    also_high = filter_spec(IssueFilter(priority=PriorityComparator(eq=Priority.HIGH)))
    low = filter_spec(IssueFilter(priority=PriorityComparator(eq=Priority.LOW)))
    not_low = filter_spec(IssueFilter(priority=PriorityComparator(neq=Priority.LOW)))

    assert high == also_high and hash(high) == hash(also_high)
    assert high != low and high.shape == low.shape
    assert high.shape != not_low.shape
    # No filter and an empty one are the same list: they batch and cache together.
    assert filter_spec(None) == filter_spec(IssueFilter())
