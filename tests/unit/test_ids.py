"""Global ids: one spelling per object, and anything else is not one of ours."""

from __future__ import annotations

import base64

import pytest

from core.ids import MAX_BIGINT, from_global_id, pk_of, to_global_id
from tests.support.ids import raw_global_id


@pytest.mark.parametrize(
    ("type_name", "pk"), [("Issue", 1), ("WorkflowState", 42), ("User", MAX_BIGINT)]
)
def test_an_id_round_trips(type_name, pk):
    global_id = to_global_id(type_name, pk)

    assert "=" not in global_id
    assert from_global_id(global_id) == (type_name, pk)
    assert pk_of(global_id, type_name) == pk


@pytest.mark.parametrize(
    "global_id",
    [
        base64.urlsafe_b64encode(b"Issue:1").decode(),  # padded: another spelling
        raw_global_id("Issue:01"),
        raw_global_id("Issue: 1"),
        raw_global_id("Issue:+1"),
        raw_global_id("Issue:0"),
        raw_global_id("Issue:-1"),
        raw_global_id(f"Issue:{MAX_BIGINT + 1}"),
        raw_global_id("Issue:1.0"),
        raw_global_id("Issue"),
        raw_global_id(":1"),
        "not base64!",
        "",
        to_global_id("Issue", 1) + "@",  # a stray character base64 decoding would skip
    ],
)
def test_anything_but_the_one_spelling_is_not_an_id(global_id):
    assert from_global_id(global_id) is None
    assert pk_of(global_id, "Issue") is None


def test_an_id_of_another_type_has_no_key_for_this_one():
    assert pk_of(to_global_id("Comment", 7), "Issue") is None
