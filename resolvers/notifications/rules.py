"""Who is told of what: `notify`, run in every mutation's transaction by `resolvers.reactions`
(this module imports no mutation runner, which imports it), and the one-click unsubscribe of
notification emails.

The rules, from the changes a mutation recorded (`db.activity.Change`):
- ASSIGNED: an issue created with an assignee, or whose assignee changed: the new assignee.
- MENTIONED: `@handle` newly in an issue's description (created, or edited: only the mentions
  the previous text did not have) or in a comment's body (the same): the member mentioned.
- STATE_CHANGED: an issue's state changed: its subscribers.
- COMMENTED: a comment was written on an issue: its subscribers.
Never the actor; only members of the issue's workspace; at most one notification per user and
issue per mutation, of the most specific kind (ASSIGNED > MENTIONED > STATE_CHANGED >
COMMENTED). The creator, each assignee and each commenter are subscribed as they act.

A handle is the local part of the member's email address (`@ada` for ada@example.com), matched
without regard to case among the members of the issue's workspace; when two members share it,
it names neither, and the whole address (`@ada@example.com`) names one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auth import tokens
from core.enums import NotificationKind
from db import notifications as notification_sql
from db import outbox
from resolvers.mail import email_message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from db.activity import Change
    from db.session import RequestDatabase
    from resolvers.context import Context

MENTION = re.compile(
    r"(?<![\w@.+%-])@([a-z0-9][a-z0-9._%+-]*(?:@[a-z0-9-]+(?:\.[a-z0-9-]+)+)?)", re.IGNORECASE
)
"""`@handle` or `@whole@address`, not inside a word or an address (`bob@example.com` mentions
nobody)."""

MAX_STATE_CHANGES_TOLD = 100
"""A mutation that moves more issues than this (deleting a workflow state moves all of its
issues; a batch update) is housekeeping, not news: it tells no subscriber of each state change,
which would be one notification (and maybe an email) per issue and subscriber."""

_RANK = {kind: rank for rank, kind in enumerate(NotificationKind)}
"""Lower is more specific: the declaration order of `NotificationKind`."""


def mentions_in(text: str) -> set[str]:
    """The handles (lower case) `text` mentions; a full stop ending a sentence is not part of
    one."""
    return {match.group(1).rstrip(".").lower() for match in MENTION.finditer(text)}


@dataclass(slots=True)
class _IssueNews:
    """What one mutation did to one issue, as far as notifications care."""

    workspace_id: int
    created: bool = False
    assigned: bool = False
    state_changed: bool = False
    description_before: str | None = None
    description_changed: bool = False
    comments_created: list[int] = field(default_factory=list)
    comments_edited: dict[int, str] = field(default_factory=dict)

    @property
    def tells_anything(self) -> bool:
        return bool(
            self.created
            or self.assigned
            or self.state_changed
            or self.description_changed
            or self.comments_created
            or self.comments_edited
        )


def _news(changes: Iterable[Change]) -> dict[int, _IssueNews]:
    """The changes that may notify someone, by issue; empty for most mutations."""
    news: dict[int, _IssueNews] = {}
    for change in changes:
        if change.issue_id is None or change.subject_type not in ("Issue", "Comment"):
            continue
        if change.subject_type == "Issue":
            relevant = change.action == "CREATED" or (
                change.action == "UPDATED" and change.field in ("assignee", "state", "description")
            )
        else:
            relevant = change.action == "CREATED" or (
                change.action == "UPDATED" and change.field == "body"
            )
        if not relevant:
            continue
        item = news.setdefault(change.issue_id, _IssueNews(change.workspace_id))
        if change.subject_type == "Comment":
            if change.action == "CREATED":
                item.comments_created.append(change.subject_id)
            else:
                item.comments_edited[change.subject_id] = change.previous_text or ""
        elif change.action == "CREATED":
            item.created = True
        elif change.field == "assignee":
            item.assigned = change.to_value is not None
        elif change.field == "state":
            item.state_changed = True
        else:
            item.description_changed = True
            item.description_before = change.previous_text or ""
    moved = [item for item in news.values() if item.state_changed]
    if len(moved) > MAX_STATE_CHANGES_TOLD:
        for item in moved:
            item.state_changed = False
        news = {issue_id: item for issue_id, item in news.items() if item.tells_anything}
    return news


@dataclass(frozen=True, slots=True)
class _Reason:
    """Why a user is told of an issue: the notification's kind, and the issue's workspace,
    whose members alone are told and in which a mention names a member."""

    kind: NotificationKind
    issue_id: int
    workspace_id: int
    comment_id: int | None = None
    """The comment that mentions them (MENTIONED), or the first one written (COMMENTED); None
    when the news is the issue's own (its assignee, state or description)."""


async def notify(context: Context, actor_id: int | None, changes: Sequence[Change]) -> None:
    """Writes the notifications (and emails) the changes call for, and the subscriptions they
    imply, in the mutation's transaction. No statement unless an issue's assignee, state or
    description changed, or a comment was written or edited; then one, and more only for the
    members it mentions and the people it notifies."""
    news = _news(changes)
    if not news:
        return
    db = context.db
    subscribe: list[tuple[int, int, int]] = []
    if actor_id is not None:
        for issue_id, item in news.items():
            if item.created or item.comments_created:
                subscribe.append((issue_id, actor_id, item.workspace_id))
    for change in changes:
        if change.field == "assignee" and change.to_value is not None and change.issue_id:
            subscribe.append((change.issue_id, int(change.to_value), change.workspace_id))
    rows = await db.fetch_all(
        notification_sql.facts(),
        {
            "issue_ids": list(news),
            "comment_ids": [
                pk
                for item in news.values()
                for pk in (*item.comments_created, *item.comments_edited)
            ],
            "created_ids": [pk for pk, item in news.items() if item.created],
            "subscribe_issue_ids": [issue for issue, _, _ in subscribe],
            "subscribe_user_ids": [user for _, user, _ in subscribe],
            "subscribe_workspace_ids": [workspace for _, _, workspace in subscribe],
        },
    )
    reasons: dict[tuple[int, int], _Reason] = {}

    def add(user_id: int | None, reason: _Reason) -> None:
        if user_id is None or user_id == actor_id:
            return
        key = (user_id, reason.issue_id)
        current = reasons.get(key)
        if current is None or _RANK[reason.kind] < _RANK[current.kind]:
            reasons[key] = reason

    mentioned: list[tuple[_Reason, set[str]]] = []
    issues = {row.id: row for row in rows}
    for row in rows:
        item = news[row.id]
        issue_reason = _Reason(NotificationKind.ASSIGNED, row.id, row.workspace_id)
        if item.created or item.assigned:
            add(row.assignee_id, issue_reason)
        mention = _Reason(NotificationKind.MENTIONED, row.id, row.workspace_id)
        if item.created:
            mentioned.append((mention, mentions_in(row.description)))
        elif item.description_changed:
            before = mentions_in(item.description_before or "")
            mentioned.append((mention, mentions_in(row.description) - before))
        bodies = dict(zip(row.comment_ids or (), row.comment_bodies or (), strict=True))
        for comment_id in item.comments_created:
            if comment_id in bodies:
                reason = _Reason(NotificationKind.MENTIONED, row.id, row.workspace_id, comment_id)
                mentioned.append((reason, mentions_in(bodies[comment_id])))
        for comment_id, before_text in item.comments_edited.items():
            if comment_id in bodies:
                reason = _Reason(NotificationKind.MENTIONED, row.id, row.workspace_id, comment_id)
                mentioned.append(
                    (reason, mentions_in(bodies[comment_id]) - mentions_in(before_text))
                )
        subscribers = row.subscriber_ids or ()
        if item.state_changed:
            for user_id in subscribers:
                add(user_id, _Reason(NotificationKind.STATE_CHANGED, row.id, row.workspace_id))
        created = [pk for pk in item.comments_created if pk in bodies]
        if created:
            reason = _Reason(NotificationKind.COMMENTED, row.id, row.workspace_id, created[0])
            for user_id in subscribers:
                add(user_id, reason)
    if any(handles for _, handles in mentioned):
        await _add_mentioned(db, mentioned, add)
    if reasons:
        await _deliver(context, actor_id, reasons, issues)


async def _add_mentioned(
    db: RequestDatabase,
    mentioned: list[tuple[_Reason, set[str]]],
    add: Callable[[int | None, _Reason], None],
) -> None:
    """Adds the member each mention names (in the workspace of the issue it is in)."""
    handles = sorted({handle for _, found in mentioned for handle in found})
    workspaces = sorted({reason.workspace_id for reason, found in mentioned if found})
    members = await db.fetch_all(
        notification_sql.members_by_handle(), {"workspace_ids": workspaces, "handles": handles}
    )
    for reason, found in mentioned:
        for handle in found:
            field_name = "email" if "@" in handle else "handle"
            matching = {
                member.id
                for member in members
                if member.workspace_id == reason.workspace_id
                and getattr(member, field_name) == handle
            }
            if len(matching) == 1:  # two members sharing a handle: it names neither
                add(matching.pop(), reason)


async def _deliver(
    context: Context,
    actor_id: int | None,
    reasons: dict[tuple[int, int], _Reason],
    issues: dict[int, Any],
) -> None:
    """The notification rows and emails of `reasons`, as each recipient's preferences say, for
    those still members of the issue's workspace."""
    db = context.db
    wanted = [(user_id, reason) for (user_id, _), reason in reasons.items()]
    found = await db.fetch_all(
        notification_sql.recipients(),
        {
            "user_ids": [user_id for user_id, _ in wanted],
            "workspace_ids": [reason.workspace_id for _, reason in wanted],
            "kinds": [reason.kind.value for _, reason in wanted],
            "actor_id": actor_id,
        },
    )
    by_user = {(row.user_id, row.workspace_id, row.kind): row for row in found}
    rows, emails = [], []
    for user_id, reason in wanted:
        recipient = by_user.get((user_id, reason.workspace_id, reason.kind))
        if recipient is None:
            continue
        if recipient.in_app:
            rows.append((user_id, reason))
        if recipient.email:
            emails.append(_email(context, recipient, reason, issues[reason.issue_id], user_id))
    if rows:
        await db.fetch_all(
            notification_sql.insert_notifications(),
            {
                "user_ids": [user_id for user_id, _ in rows],
                "workspace_ids": [reason.workspace_id for _, reason in rows],
                "kinds": [reason.kind.value for _, reason in rows],
                "issue_ids": [reason.issue_id for _, reason in rows],
                "comment_ids": [reason.comment_id for _, reason in rows],
                "actor_id": actor_id,
            },
        )
    await outbox.enqueue(db, emails)


_WHAT = {
    NotificationKind.ASSIGNED: "assigned you",
    NotificationKind.MENTIONED: "mentioned you in",
    NotificationKind.STATE_CHANGED: "changed the state of",
    NotificationKind.COMMENTED: "commented on",
}


def _email(context: Context, recipient: Any, reason: _Reason, issue: Any, user_id: int) -> Any:
    """The email of one notification: plain text and HTML (every value escaped), a link to
    the issue and a one-click unsubscribe link for this kind (RFC 8058)."""
    identifier = f"{issue.project_key}-{issue.number}"
    base = context.settings.app_url.rstrip("/")
    link = f"{base}/issue/{identifier}"
    token = tokens.unsubscribe_token(context.access_tokens.secret, user_id, reason.kind.value)
    unsubscribe = f"{base}/unsubscribe?token={token}"
    actor = recipient.actor_name or "Someone"
    line = f"{actor} {_WHAT[reason.kind]} {identifier}: {issue.title}"
    text = (
        f"{line}\n\n{link}\n\n"
        f"You get these emails for {reason.kind.value} notifications; to stop them: "
        f"{unsubscribe}\n"
    )
    body = (
        f"<p>{html.escape(actor)} {_WHAT[reason.kind]} "
        f'<a href="{html.escape(link)}">{html.escape(identifier)}</a>: '
        f"{html.escape(issue.title)}</p>"
        f'<p><a href="{html.escape(unsubscribe)}">Unsubscribe</a> from '
        f"{reason.kind.value} emails.</p>"
    )
    return email_message(
        recipient.address,
        f"[{identifier}] {issue.title}",
        text,
        body,
        purpose="notification",
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# ---- one-click unsubscribe ---------------------------------------------------------------------


async def unsubscribe_by_token(db: RequestDatabase, secret: str, token: str) -> NotificationKind:
    """Turns off the emails of the kind the token names, for the user it names, and commits;
    InvalidTokenError for a token this server did not make."""
    user_id, kind_name = tokens.unsubscribe_claims(secret, token)
    try:
        kind = NotificationKind(kind_name)
    except ValueError as error:
        raise tokens.InvalidTokenError("unsubscribe token of no kind") from error
    await db.fetch_all(
        notification_sql.set_preference(),
        {"user_id": user_id, "kind": kind.value, "in_app": None, "email": False},
    )
    await db.commit()
    return kind
