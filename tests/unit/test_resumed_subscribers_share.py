"""Subscribers that resumed from different cursors share one execution per event, unless the
cursor's variable is read by more than the root field's `after`."""

from __future__ import annotations

import pytest
from graphql import parse

from server.live import resume_variable


@pytest.mark.parametrize(
    ("document", "shared_apart_from"),
    [
        (
            "subscription($i: ID, $a: String) { issueChanged(issueId: $i, after: $a) { cursor } }",
            "a",
        ),
        # The same variable read further down: its value changes what an event returns.
        (
            "subscription($a: String) { workspaceChanged(workspaceId: 1, after: $a) "
            "{ subject { ... on Issue { history(after: $a) { totalCount } } } } }",
            None,
        ),
        ('subscription { issueChanged(issueId: 1, after: "x") { cursor } }', None),
        ("subscription($i: ID) { issueChanged(issueId: $i) { cursor } }", None),
    ],
)
def test_the_cursor_variable_is_left_out_of_the_group_key_only_when_alone(
    document, shared_apart_from
):
    assert resume_variable(parse(document), None) == shared_apart_from
