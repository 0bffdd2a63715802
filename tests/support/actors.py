"""Who plays each role in the demo data, and the secret test access tokens are signed with."""

from __future__ import annotations

OWNER = "demo@backlog.dev"
ADMIN = "ada@backlog.dev"
MEMBER = "max@backlog.dev"
GUEST = "gus@backlog.dev"
STRANGER = "olga@globex.dev"  # owner of the other workspace, stranger to acme
NOBODY = "nobody@nowhere.dev"  # no such user: an anonymous request

TEST_JWT_SECRET = "test-secret-for-access-tokens-32-bytes-or-more"
