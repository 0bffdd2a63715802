"""Email, as the outbox carries it: one message of kind `email` per recipient, rendered when
the change that causes it is written (the worker only sends; `server/mail.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

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
        # A title or a name may hold line breaks, which a header may not: the email would be
        # unsendable.
        "subject": one_line(subject),
        "text": text,
        "html": html,
        "purpose": purpose,
        "headers": headers or {},
    }
    return NewMessage(KIND, payload)


def link_email(
    to: str,
    subject: str,
    paragraphs: Sequence[str],
    *,
    action: str,
    link: str,
    footer: str,
    purpose: str,
) -> NewMessage:
    """An email that asks its reader to follow one link: its paragraphs, the link (labelled
    `action` in HTML), and a footer, as plain text and as HTML. Every value is escaped in the
    HTML: names, workspace names and addresses are the users' own text."""
    text = "\n\n".join([*paragraphs, f"{action}: {link}", footer]) + "\n"
    body = "".join(f"<p>{escape(paragraph)}</p>\n" for paragraph in paragraphs)
    html = (
        '<!DOCTYPE html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n'
        f"{body}"
        f'<p><a href="{escape(link)}">{escape(action)}</a></p>\n'
        f'<p style="color: #666; font-size: smaller">{escape(footer)}</p>\n'
        "</body></html>\n"
    )
    return email_message(to, subject, text, html, purpose=purpose)


def app_link(base_url: str, path: str, **query: str) -> str:
    """A link into the web app at `base_url` (BACKLOG_APP_URL)."""
    return f"{base_url.rstrip('/')}{path}?{urlencode(query)}"


def one_line(value: str) -> str:
    """A user's text fit for a Subject: whitespace runs (line breaks too) as one space."""
    return " ".join(value.split())
