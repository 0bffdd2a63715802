"""The one rule for text any field may hold: what PostgreSQL can store; and the resolvers apply
it, so callers other than HTTP (and defence in depth) get typed input errors."""

from __future__ import annotations

import pytest

from core.text import unstorable_text
from resolvers.inputs import body_errors, name_errors, title_errors


@pytest.mark.parametrize("value", ["", "ok", "\\u0000 quoted, not a NUL", "\U0001f600", "é\n\t"])
def test_text_postgresql_stores_passes(value):
    assert unstorable_text(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("a\x00b", "cannot contain the NUL character"),
        ("a\ud800b", "is not valid Unicode text"),  # a lone surrogate, as JSON can smuggle in
        ("\udfff", "is not valid Unicode text"),
    ],
)
def test_text_postgresql_cannot_store_says_why(value, reason):
    assert unstorable_text(value) == reason


@pytest.mark.parametrize("value", ["a\x00b", "a\ud800b"])
def test_resolvers_check_text_too(value):
    assert [e.code.value for e in title_errors(value, "title")] == ["INVALID_INPUT"]
    assert [e.code.value for e in body_errors(value, "body")] == ["INVALID_INPUT"]
    assert [e.code.value for e in name_errors(value, "name")] == ["INVALID_INPUT"]
