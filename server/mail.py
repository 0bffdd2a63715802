"""Email: the outbox's sender of messages of kind `email` (`resolvers/mail.py` writes them),
over SMTP with `aiosmtplib`.

`BACKLOG_SMTP_URL` says where to: `smtp://host[:port]` (port 25 by default) upgrades the
connection with STARTTLS whenever the server offers it, and sends in the clear to one that
does not (a local relay, the development sink); `smtp://user:password@host[:port]` requires
STARTTLS (credentials never travel in the clear: a server without it is an error, retried);
`smtps://...` (port 465 by default) speaks TLS from the first byte.

What SMTP answers decides the message's fate: sent, it is done (and its body is dropped from
the outbox, `db.mail.drop_body`); a 5xx refusal of the recipient or of the message itself is
final (`GiveUp`); anything else (4xx, a connection refused or cut, a timeout, the server not
configured yet) is worth another try (`RetryLater`). Each message goes out with
`Message-ID: <outbox-<id>@backlog>`, so a resend after a lost answer is recognizably the same
message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from db import mail
from resolvers.inputs import EMAIL
from server.sending import GiveUp, RetryLater, Sent

if TYPE_CHECKING:
    from db.outbox import Message
    from db.session import RequestDatabase
    from server.sending import Outcome
    from server.settings import Settings

logger = logging.getLogger("backlog.mail")

NOT_CONFIGURED_RETRY_S = 60.0
NOT_CONFIGURED_RETRY_MAX_S = 3600.0
"""A message waiting for BACKLOG_SMTP_URL looks again after 1 minute, then 2, 4... at most
every hour: it waits as long as it takes (these retries never run out), without thousands of
waiting messages keeping the worker and the database busy."""
PERMANENT = 500


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where BACKLOG_SMTP_URL says to send."""

    hostname: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None

    @property
    def start_tls(self) -> bool | None:
        """aiosmtplib's: None is "if the server offers it"."""
        if self.implicit_tls:
            return False
        return True if self.username is not None else None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if implicit_tls else 25),
            implicit_tls=implicit_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    async def send(self, email: EmailMessage, recipient: str, *, timeout_s: float) -> None:
        """Connects, sends `email` to `recipient` alone (the envelope's, not read back from the
        header) and disconnects; aiosmtplib's errors, which `MailSender` sorts, as they come."""
        await aiosmtplib.send(
            email,
            recipients=[recipient],
            hostname=self.hostname,
            port=self.port,
            use_tls=self.implicit_tls,
            start_tls=self.start_tls,
            timeout=timeout_s,
            username=self.username,
            password=self.password,
        )


def email_of(message: Message, sender: str) -> EmailMessage:
    """The email an outbox message describes: text, with an HTML alternative."""
    payload = message.payload
    email = EmailMessage()
    email["From"] = sender
    email["To"] = payload["to"]
    email["Subject"] = payload["subject"]
    # When the change that caused it was made, not when this attempt is: a resend is the same.
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = f"<outbox-{message.id}@backlog>"
    for name, value in (payload.get("headers") or {}).items():
        del email[name]
        email[name] = value
    email.set_content(payload["text"])
    email.add_alternative(payload["html"], subtype="html")
    return email


class MailSender:
    """The `Sender` of kind `email` (`server.worker.senders`)."""

    def __init__(self, settings: Settings) -> None:
        self.server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
        self.sender = settings.mail_from
        self.timeout_s = settings.smtp_timeout_s
        self._warned = False

    async def __call__(self, db: RequestDatabase, message: Message) -> Outcome:
        server = self.server
        if server is None:
            if not self._warned:
                logger.warning("email waits in the outbox: BACKLOG_SMTP_URL is not set")
                self._warned = True
            wait = min(NOT_CONFIGURED_RETRY_S * 2**message.attempts, NOT_CONFIGURED_RETRY_MAX_S)
            return RetryLater("BACKLOG_SMTP_URL is not set", delay_s=wait)
        if "text" not in message.payload:
            return GiveUp("its body was dropped when it was first sent")
        recipient = message.payload.get("to")
        if not isinstance(recipient, str) or not EMAIL.fullmatch(recipient):
            # An address from before the rule (`a<b>@example.com`, say): an SMTP server would
            # read it another way and deliver it, a reset link with it, to someone else.
            return GiveUp(f"not an address mail would deliver as written: {recipient!r}")
        try:
            email = email_of(message, self.sender)
        except (KeyError, TypeError, ValueError) as error:  # a header no email may carry
            return GiveUp(f"not an email: {error}")
        outcome = await self._send(server, email, recipient)
        if isinstance(outcome, Sent):
            await mail.drop_body(db, message.id)
        return outcome

    async def _send(self, server: SmtpServer, email: EmailMessage, recipient: str) -> Outcome:
        try:
            await server.send(email, recipient, timeout_s=self.timeout_s)
        except aiosmtplib.SMTPRecipientsRefused as error:
            return _refused(error.recipients)
        except aiosmtplib.SMTPRecipientRefused as error:
            return _refused([error])
        except aiosmtplib.SMTPDataError as error:
            if error.code >= PERMANENT:
                return GiveUp(f"message refused: {error.code} {error.message}")
            return RetryLater(f"message deferred: {error.code} {error.message}")
        except aiosmtplib.SMTPResponseException as error:
            return RetryLater(f"SMTP {error.code} {error.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return RetryLater(f"SMTP server unreachable: {_reason(error)}")
        return Sent()


def _refused(recipients: list[Any]) -> Outcome:
    codes = " ".join(f"{refusal.code} {refusal.message}" for refusal in recipients)
    if all(refusal.code >= PERMANENT for refusal in recipients):
        return GiveUp(f"recipient refused: {codes}")
    return RetryLater(f"recipient deferred: {codes}")


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__
