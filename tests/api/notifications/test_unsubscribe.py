"""The unsubscribe link of notification emails, end to end through the app: the one-click POST
(RFC 8058) turns that kind's emails off; GET only asks; a forged or altered token changes
nothing and is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from auth.tokens import unsubscribe_token
from tests.support.actors import MEMBER, OWNER, TEST_JWT_SECRET
from tests.support.factories import create_issue
from tests.support.ids import to_global_id
from tests.support.inbox import emails_to, user_pk


async def email_preference(connection, email: str, kind: str) -> bool | None:
    return (
        await connection.execute(
            text(
                "SELECT p.email FROM notification_preferences p JOIN users u ON u.id = p.user_id "
                "WHERE u.email = :e AND p.kind::text = :k"
            ),
            {"e": email, "k": kind},
        )
    ).scalar()


async def link_of_an_assignment(gql_as, connection) -> str:
    """The List-Unsubscribe link of the email the member gets for an assignment."""
    member = to_global_id("User", await user_pk(connection, MEMBER))
    await create_issue(gql_as(OWNER), connection, assigneeId=member)
    (email,) = await emails_to(connection, MEMBER)
    return str(email["headers"]["List-Unsubscribe"]).strip("<>")


async def test_one_click_post_turns_the_kinds_emails_off(gql_as, connection, client):
    link = urlsplit(await link_of_an_assignment(gql_as, connection))
    assert link.path == "/unsubscribe"
    looked = await client.get(f"/unsubscribe?{link.query}")
    assert looked.status_code == 200 and "<form method=post" in looked.text
    assert await email_preference(connection, MEMBER, "ASSIGNED") is None  # GET only asks
    response = await client.post(
        f"/unsubscribe?{link.query}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert await email_preference(connection, MEMBER, "ASSIGNED") is False
    # In-app notifications stay as they were; the next assignment is not emailed.
    member = to_global_id("User", await user_pk(connection, MEMBER))
    issue = (await create_issue(gql_as(OWNER), connection, assigneeId=member))["issue"]
    assert len(await emails_to(connection, MEMBER)) == 1
    (count,) = (
        await connection.execute(
            text("SELECT count(*) FROM notifications WHERE user_id = :u AND kind = 'ASSIGNED'"),
            {"u": await user_pk(connection, MEMBER)},
        )
    ).one()
    assert count == 2 and issue["identifier"]


async def test_forged_tokens_are_refused_and_change_nothing(gql_as, connection, client):
    link = urlsplit(await link_of_an_assignment(gql_as, connection))
    (token,) = parse_qs(link.query)["token"]
    user, kind, mac = token.split(".")
    owner = await user_pk(connection, OWNER)
    forged = [
        f"{owner}.{kind}.{mac}",  # another user's id under the member's signature
        f"{user}.MENTIONED.{mac}",  # another kind
        f"{user}.{kind}.{mac[:-2]}AA",
        unsubscribe_token("another-secret-of-at-least-32-bytes-long!", int(user), kind),
        "",
        "1.ASSIGNED",
        "x.y.z",
    ]
    for bad in forged:
        for method in ("GET", "POST"):
            response = await client.request(method, "/unsubscribe", params={"token": bad})
            assert response.status_code == 400, (bad, method, response.text)
    assert await email_preference(connection, OWNER, "ASSIGNED") is None
    assert await email_preference(connection, MEMBER, "MENTIONED") is None
    assert await email_preference(connection, MEMBER, "ASSIGNED") is None
    # The genuine token is the server's own HMAC.
    assert token == unsubscribe_token(TEST_JWT_SECRET, int(user), kind)
