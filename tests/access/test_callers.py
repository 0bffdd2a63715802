"""The per-role callers the tests use are who they say: each demo user signs in with a real
access token, and an email of no user is an anonymous caller."""

from __future__ import annotations

import pytest

from tests.support.actors import ADMIN, GUEST, MEMBER, NOBODY, OWNER, STRANGER


@pytest.mark.parametrize("email", [OWNER, ADMIN, MEMBER, GUEST, STRANGER])
async def test_each_caller_is_signed_in_as_its_user(gql_as, email):
    body = await gql_as(email)("{ viewer { email } }")

    assert body == {"data": {"viewer": {"email": email}}}


async def test_a_caller_of_no_user_is_anonymous(gql_as):
    body = await gql_as(NOBODY)("{ viewer { email } }")

    assert body == {"data": {"viewer": None}}
