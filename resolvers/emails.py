"""Email, as the outbox carries it: one message of kind `email` per recipient, rendered when
the change that causes it is written (the worker only sends; `server/mail.py`)."""

from __future__ import annotations

from typing import Any

from db.outbox import NewMessage

KIND = "email"


def email_message(
    to: str,
    subject: str,
    text: str,
    html: str,
    *,
    purpose: str,
    headers: dict[str, str] | None = None,
) -> NewMessage:
    """An email to write to the outbox. `purpose` (`invitation`, `password_reset`,
    `notification`, ...) is for the record and the logs; `headers` are extra ones (such as
    `List-Unsubscribe`)."""
    payload: dict[str, Any] = {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "purpose": purpose,
        "headers": headers or {},
    }
    return NewMessage(KIND, payload)
