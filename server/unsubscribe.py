"""`/unsubscribe?token=...`: the link in every notification email that turns off that kind of
email for its recipient, without signing in (the token is an HMAC only this server makes:
`auth.tokens.unsubscribe_token`).

`POST` is RFC 8058's one-click unsubscribe (what a mail client sends for `List-Unsubscribe-Post:
List-Unsubscribe=One-Click`): it unsubscribes. `GET` (a person following the link) only shows a
page with a button that POSTs: mail scanners fetch the links of incoming mail, and a GET that
unsubscribed would unsubscribe people who never asked to. A token this server did not make is
refused with 400, and changes nothing.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse

from auth.tokens import InvalidTokenError, unsubscribe_claims
from core.enums import NotificationKind
from db.session import Database, DatabaseUnavailableError
from resolvers.notifications.rules import unsubscribe_by_token

_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width'><title>{title}</title></head>"
    "<body><h1>{title}</h1>{body}</body></html>"
)
REFUSED = "This unsubscribe link is not valid (copy the whole link from the email)."


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=html.escape(title), body=body),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


class UnsubscribeEndpoint:
    """The endpoint is `respond`; `secret` is the access-token signing secret links derive from."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    async def respond(self, request: Request) -> HTMLResponse:
        token = request.query_params.get("token", "")
        if request.method == "GET":
            return self._confirmation(token)
        database: Database = request.app.state.database
        db = database.request_handle()
        try:
            kind = await unsubscribe_by_token(db, self.secret, token)
        except InvalidTokenError:
            return _page("Not unsubscribed", f"<p>{html.escape(REFUSED)}</p>", 400)
        except DatabaseUnavailableError:
            return _page("Try again", "<p>The service is unavailable; try again.</p>", 503)
        finally:
            await db.close()
        return _page(
            "Unsubscribed",
            f"<p>You will no longer get {html.escape(kind.value)} notification emails. "
            "Turn them back on in your notification preferences.</p>",
        )

    def _confirmation(self, token: str) -> HTMLResponse:
        try:
            _, kind_name = unsubscribe_claims(self.secret, token)
            kind = NotificationKind(kind_name)
        except (InvalidTokenError, ValueError):
            return _page("Not unsubscribed", f"<p>{html.escape(REFUSED)}</p>", 400)
        return _page(
            "Unsubscribe",
            f"<p>Stop emails of {html.escape(kind.value)} notifications?</p>"
            f'<form method=post action="?token={html.escape(token)}">'
            "<input type=hidden name=List-Unsubscribe value=One-Click>"
            "<button type=submit>Unsubscribe</button></form>",
        )
