"""The statement the email sender (`server/mail.py`) keeps the outbox's copy of an email
short with, once it is sent."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, bindparam, literal_column, update

from db.outbox import outbox

if TYPE_CHECKING:
    from sqlalchemy import Update

    from db.session import RequestDatabase

BODY_KEYS = ("text", "html")


@cache
def _drop_body() -> Update:
    # The keys are constants, written into the statement: `jsonb - $1` would leave PostgreSQL
    # to guess between its text, integer and text[] forms.
    keys = ", ".join(f"'{key}'" for key in BODY_KEYS)
    payload = outbox.c.payload.op("-")(literal_column(f"ARRAY[{keys}]::text[]"))
    return (
        update(outbox)
        .where(outbox.c.id == bindparam("message_id", type_=BigInteger))
        .values(payload=payload)
    )


async def drop_body(db: RequestDatabase, message_id: int) -> None:
    """Forget a sent email's text and HTML: a password reset's holds a live link, which must
    not outlive the sending in the database (recipient, subject and purpose stay)."""
    await db.fetch_all(_drop_body(), {"message_id": message_id})
