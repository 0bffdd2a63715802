"""Email through the outbox to a real SMTP server (aiosmtpd on a localhost port): what arrives,
what SMTP refusals and outages do to a message, invitation emails, and the development sink."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db import outbox
from db.session import Database
from resolvers.mail import email_message
from server import cli
from server.mail_sink import MailSink, sunk_mail
from tests.support.actors import ADMIN, OWNER
from tests.support.credentials import signed_in_caller
from tests.support.factories import ACME
from tests.support.mail import (
    Inbox,
    free_port,
    outbox_emails,
    send_due,
    settle_earlier_messages,
    smtp_server,
)

UNSUBSCRIBE = "<https://backlog.example/unsubscribe?token=abc>"


@pytest.fixture(autouse=True)
async def only_this_tests_messages(connection):
    await settle_earlier_messages(connection)


async def enqueue_email(connection, to: str = "reader@example.com") -> int:
    db = Database.sharing(connection).request_handle()
    try:
        message = email_message(
            to,
            "Hello <there> & welcome",
            "Plain words.\n",
            "<p>Plain <b>words</b>.</p>",
            purpose="notification",
            headers={"List-Unsubscribe": UNSUBSCRIBE},
        )
        await outbox.enqueue(db, [message])
        await db.commit()
    finally:
        await db.close()
    (row,) = await outbox_emails(connection)
    return int(row.id)


async def test_an_email_arrives_with_its_text_html_and_headers(connection):
    message_id = await enqueue_email(connection)
    with smtp_server() as server:
        assert await send_due(connection, server.url, BACKLOG_MAIL_FROM="Team <team@example.com>")
        (received,) = server.inbox.wait_for(1)

    email = received.message
    assert received.envelope_to == ["reader@example.com"]
    assert email["From"] == "Team <team@example.com>"
    assert email["To"] == "reader@example.com"
    assert email["Subject"] == "Hello <there> & welcome"
    assert email["Message-ID"] == f"<outbox-{message_id}@backlog>"
    assert email["Date"] is not None
    assert email["List-Unsubscribe"] == UNSUBSCRIBE
    assert email.get_content_type() == "multipart/alternative"
    assert received.part("plain") == "Plain words.\n"
    assert received.part("html").strip() == "<p>Plain <b>words</b>.</p>"
    (row,) = await outbox_emails(connection)
    assert row.sent_at is not None and row.last_error is None
    # Sent, its body is not kept: a reset link must not outlive the sending.
    assert row.payload == {
        "to": "reader@example.com",
        "subject": "Hello <there> & welcome",
        "purpose": "notification",
        "headers": {"List-Unsubscribe": UNSUBSCRIBE},
    }


async def test_a_message_waits_while_the_smtp_server_is_down_and_is_sent_once_it_is_up(
    connection,
):
    message_id = await enqueue_email(connection)
    port = free_port()  # nothing listens there yet
    url = f"smtp://127.0.0.1:{port}"
    assert await send_due(connection, url)
    (row,) = await outbox_emails(connection)
    assert (row.attempts, row.sent_at, row.abandoned_at) == (1, None, None)
    assert row.waiting and "unreachable" in row.last_error
    assert "text" in row.payload  # nothing lost

    with smtp_server(port=port) as server:
        assert not await send_due(connection, url)  # not due before its retry
        await connection.execute(
            text("UPDATE outbox_messages SET available_at = now() WHERE id = :id"),
            {"id": message_id},
        )
        assert await send_due(connection, url)
        (received,) = server.inbox.wait_for(1)
    assert received.message["Message-ID"] == f"<outbox-{message_id}@backlog>"
    (row,) = await outbox_emails(connection)
    assert row.attempts == 2 and row.sent_at is not None


@pytest.mark.parametrize(
    ("reply", "given_up"),
    [("550 5.1.1 No such user here", True), ("450 4.2.1 Mailbox busy, try later", False)],
)
async def test_a_permanent_refusal_of_the_recipient_gives_up_a_temporary_one_retries(
    connection, reply, given_up
):
    await enqueue_email(connection, to="gone@example.com")
    with smtp_server(Inbox(refuse_recipients=reply)) as server:
        assert await send_due(connection, server.url)
        assert server.inbox.received == []
    (row,) = await outbox_emails(connection)
    assert row.sent_at is None
    assert (row.abandoned_at is not None) is given_up
    assert row.waiting is not given_up
    assert reply.split()[0] in row.last_error


async def test_without_an_smtp_url_email_waits_in_the_outbox(connection):
    await enqueue_email(connection)
    assert await send_due(connection, None)
    (row,) = await outbox_emails(connection)
    assert (row.sent_at, row.abandoned_at) == (None, None)
    assert row.waiting and row.last_error == "BACKLOG_SMTP_URL is not set"
    # It looks again less and less often, never more than hourly, and never gives up.
    for attempts, wait_s in ((3, 8 * 60), (12, 3600)):
        await connection.execute(
            text("UPDATE outbox_messages SET attempts = :a, available_at = now() WHERE id = :m"),
            {"a": attempts, "m": row.id},
        )
        assert await send_due(connection, None)
        due_in = await connection.scalar(
            text(
                "SELECT extract(epoch FROM available_at - clock_timestamp()) "
                "FROM outbox_messages WHERE id = :m"
            ),
            {"m": row.id},
        )
        assert wait_s - 5 < due_in <= wait_s
        (row,) = await outbox_emails(connection)
        assert row.abandoned_at is None


INVITE = """mutation ($id: ID!, $email: String!) {
  memberInvite(input: {workspaceId: $id, email: $email, role: MEMBER}) {
    invitation { expiresAt } token errors { code } } }"""
SIGN_UP = """mutation ($email: String!) { signUp(input: {email: $email,
  password: "long enough password", name: "Invitee"}) { errors { code } } }"""
ACCEPT = """mutation ($token: String!) { invitationAccept(input: {token: $token}) {
  membership { role workspace { slug } } errors { code } } }"""


async def test_an_invitation_email_carries_a_link_that_accepts_it(connection, make_client):
    await connection.execute(
        text("UPDATE workspaces SET name = :name WHERE slug = 'acme'"),
        {"name": "Acme <R&D>"},
    )
    async with make_client(BACKLOG_ENV="production", BACKLOG_APP_URL="https://app.example/") as c:
        invited = await signed_in_caller(c, connection, ADMIN)(
            INVITE, {"id": ACME, "email": "invitee@example.com"}
        )
        token = invited["data"]["memberInvite"]["token"]
        assert token  # still handed to the inviter, as before
        with smtp_server() as server:
            assert await send_due(connection, server.url)
            (received,) = server.inbox.wait_for(1)

        assert received.message["To"] == "invitee@example.com"
        assert received.message["Subject"] == "Ada Admin invited you to Acme <R&D> on Backlog"
        plain, html = received.part("plain"), received.part("html")
        assert "https://app.example/invitations/accept?token=" in plain
        assert "as member" in plain and "UTC" in plain
        assert "Acme &lt;R&amp;D&gt;" in html and "Acme <R&D>" not in html
        assert received.link("/invitations/accept") == token

        await signed_in_caller(c, connection, OWNER)(SIGN_UP, {"email": "invitee@example.com"})
        joined = await signed_in_caller(c, connection, "invitee@example.com")(
            ACCEPT, {"token": received.link("/invitations/accept")}
        )
    assert joined["data"]["invitationAccept"] == {
        "membership": {"role": "MEMBER", "workspace": {"slug": "acme"}},
        "errors": [],
    }


async def test_the_development_sink_keeps_each_message_and_backlog_mail_lists_it(
    connection, tmp_path, monkeypatch, capsys
):
    await enqueue_email(connection)
    sink = MailSink(tmp_path / "mail")
    sink.start()
    try:
        assert await send_due(connection, sink.url)
    finally:
        sink.stop()
    (kept,) = sunk_mail(tmp_path / "mail")
    assert kept.path.suffix == ".eml"
    assert (kept.to, kept.subject) == ("reader@example.com", "Hello <there> & welcome")

    monkeypatch.setenv("BACKLOG_DATA_DIR", str(tmp_path))
    assert cli.main(["mail"]) == 0
    listing = capsys.readouterr().out
    assert "reader@example.com" in listing and "Hello <there> & welcome" in listing
    assert cli.main(["mail", "--show", "1"]) == 0
    assert "Plain words." in capsys.readouterr().out


@pytest.mark.parametrize("address", ["a<b>@example.com", 'o"brien@example.com', "john(doe)@x.com"])
async def test_an_address_mail_would_read_another_way_is_never_sent_to(connection, address):
    """An account may hold such an address from before the rule: a server would deliver its
    email (a password reset link, say) to another mailbox."""
    await enqueue_email(connection, to=address)
    with smtp_server() as server:
        assert await send_due(connection, server.url)
        assert server.inbox.received == []
    (row,) = await outbox_emails(connection)
    assert row.abandoned_at is not None
    assert row.last_error.startswith("not an address mail would deliver as written")
